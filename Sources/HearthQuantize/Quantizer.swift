import Foundation
import HearthGGUF
import HearthKernels

/// GGUF to GGUF: every tensor dequantized to f32 and stored in its planned type with the
/// format's weight quantizer (rows in parallel), or copied when its type does not change.
/// Metadata is kept, with `general.file_type`, `general.quantization_version` and the
/// provenance keys given. The output is streamed to a temporary file, flushed and renamed;
/// on any failure nothing is left at the output path.
public enum Quantizer {
    /// Progress: tensors done and in all, bytes of output written so far and in all.
    public typealias Progress = (_ tensors: Int, _ of: Int, _ bytes: Int, _ total: Int) -> Void

    ///
    /// `finalProvenance` gives values computed while the tensors were written (the source's
    /// digest), replacing placeholders of the same length in `provenance`.
    public static func run(source: GGUFFile, plan: QuantizePlan, fileType: UInt32, provenance: [(String, GGUFValue)],
                           to path: String, threads: Int, progress: Progress = { _, _, _, _ in },
                           finalProvenance: () -> [(String, GGUFValue)] = { [] }) throws(QuantizeError) {
        var writer = GGUFWriter()
        for key in source.metadataKeys {
            guard let value = source.metadata[key] else { continue }
            writer.set(key, value)
        }
        writer.set("general.file_type", .uint32(fileType))
        writer.set("general.quantization_version", .uint32(2))
        for (key, value) in provenance { writer.set(key, value) }
        do {
            for e in plan.entries { try writer.declareTensor(e.tensor.name, shape: e.tensor.shape, type: e.target) }
        } catch { throw QuantizeError(error.message) }
        let total = plan.outputBytes
        var done = 0
        do {
            try writer.write(to: path) { index, info in
                let entry = plan.entries[index]
                let bytes = try convert(source.data(of: entry.tensor), entry.tensor, to: entry.target, threads: threads)
                done += bytes.count
                progress(index + 1, plan.entries.count, done, total)
                return bytes
            } finalMetadata: { finalProvenance() }
        } catch let e as GGUFError { throw QuantizeError(e.message) } catch let e as QuantizeError { throw e } catch {
            throw QuantizeError("\(error)")
        }
    }

    /// One tensor's bytes in `target`: row by row, dequantized to f32 and quantized again.
    static func convert(_ data: UnsafeRawBufferPointer, _ tensor: GGUFTensorInfo, to target: TensorType, threads: Int) throws(QuantizeError) -> [UInt8] {
        if tensor.type == target { return Array(data) }
        guard let quantize = target.traits.quantizeWeights else { throw QuantizeError("Hearth cannot write \(target) (tensor \(tensor.name))") }
        let rowLength = tensor.shape[0], rows = tensor.elementCount / rowLength
        let source = tensor.type.traits, dest = target.traits
        guard let inRow = source.bytes(forElements: rowLength), let outRow = dest.bytes(forElements: rowLength) else {
            throw QuantizeError("tensor \(tensor.name): rows of \(rowLength) are not whole \(tensor.type) or \(target) blocks")
        }
        var out = [UInt8](repeating: 0, count: outRow * rows)
        out.withUnsafeMutableBytes { dst in
            let base = UInt(bitPattern: dst.baseAddress!)
            parallelRanges(rows, threads: threads, minimumPerThread: 16) { start, end in
                let floats = UnsafeMutablePointer<Float>.allocate(capacity: rowLength)
                defer { floats.deallocate() }
                let outBase = UnsafeMutableRawPointer(bitPattern: base)!
                for r in start..<end {
                    source.dequantize(data.baseAddress! + r * inRow, floats, rowLength)
                    quantize(floats, outBase + r * outRow, rowLength)
                }
            }
        }
        return out
    }
}
