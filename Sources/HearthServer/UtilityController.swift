import HearthAPI
import HearthEngine
import Hummingbird

/// `/health`, `/metrics`, `/tokenize`, `/detokenize` (llama-server's shapes).
struct UtilityController {
    let state: ServerState

    struct TokenizeRequest: Codable { var model: String?; var content: String; var add_special: Bool?; var parse_special: Bool? }
    struct TokenizeResponse: Codable { var tokens: [Int32] }
    struct DetokenizeRequest: Codable { var model: String?; var tokens: [Int] }
    struct DetokenizeResponse: Codable { var content: String }
    struct Health: Codable { var status: String }

    func addRoutes(to router: Router<ServeContext>) {
        router.get("/health") { _, _ -> Response in
            // Unauthenticated, so that load balancers can probe it.
            do throws(APIError) {
                _ = try state.registry()
                return JSON.response(Health(status: "ok"))
            } catch {
                return JSON.response(Health(status: error.status == .serviceUnavailable ? "loading" : "error"), status: error.status)
            }
        }
        router.get("/metrics", use: routed(.openAI, "metrics", state) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: state.metrics.render())))
        })
        router.post("/tokenize", use: routed(.openAI, "tokenize", state) { _, body in
            let req = try JSON.decode(TokenizeRequest.self, from: body)
            let model = try await self.model(req.model)
            return JSON.response(TokenizeResponse(tokens: model.tokenizer.encode(
                req.content, addSpecial: req.add_special ?? false, parseSpecial: req.parse_special ?? true)))
        })
        router.post("/detokenize", use: routed(.openAI, "detokenize", state) { _, body in
            let req = try JSON.decode(DetokenizeRequest.self, from: body)
            let model = try await self.model(req.model)
            let vocab = model.tokenizer.vocabularySize
            if let bad = req.tokens.first(where: { $0 < 0 || $0 >= vocab }) {
                throw APIError.badRequest("token id \(bad) is outside the vocabulary (0..<\(vocab))")
            }
            return JSON.response(DetokenizeResponse(content: model.tokenizer.decode(req.tokens.map { Int32($0) })))
        })
    }

    /// The named model, or the only one when no name is given.
    private func model(_ name: String?) async throws(APIError) -> Model {
        let registry = try state.registry()
        if let name { return try await registry.model(named: name).model }
        guard registry.files.count == 1 else {
            throw APIError.badRequest("this server has \(registry.files.count) models: name one in 'model'")
        }
        return try await registry.model(named: registry.files[0].name).model
    }
}
