/// A command argument from text (keys, command names, numbers): its UTF-8 bytes.
func b(_ s: String) -> [UInt8] { Array(s.utf8) }
