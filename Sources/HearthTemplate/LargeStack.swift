import Foundation

/// Runs compilation and rendering on a thread of their own with a known, generous stack.
///
/// The engine recurses over the template's nesting. Its depth limit (``ChatTemplate/Limits``)
/// only protects the process if every level's stack use times the limit fits in the stack, and
/// callers may sit on threads with as little as 512 KiB (secondary threads and Swift concurrency
/// on Apple platforms) while debug builds use tens of KiB per level. A dedicated thread makes
/// the limit mean the same thing everywhere; the cost, one thread start per call, is small next
/// to tokenizing and generating.
enum LargeStack {
    /// Only the pages actually touched become resident.
    static let stackSize = 16 << 20

    static func run<T: Sendable>(_ work: @escaping @Sendable () throws(TemplateError) -> T) throws(TemplateError) -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.result = Result { () throws(TemplateError) -> T in try work() }
            done.signal()
        }
        thread.stackSize = stackSize
        thread.start()
        done.wait()
        guard let result = box.result else { throw TemplateError(.runtime, "template worker thread produced no result") }
        return try result.get()
    }
}

/// Carries a result from the worker thread; the semaphore orders the write before the read.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, TemplateError>?
}
