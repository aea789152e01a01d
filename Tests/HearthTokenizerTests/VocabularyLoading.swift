import Foundation
import HearthGGUF
import HearthTokenizer

/// Loads the tokenizer vocabulary of the GGUF model file at `path` through the GGUF adapter.
func loadVocabulary(model path: String) throws -> TokenizerVocabulary {
    try TokenizerVocabulary(file: GGUFFile(path: path))
}
