internal import CZlib

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a file (`-` = standard input), gzip-compressed or plain (zlib reads both), and lends
/// it line by line.
final class LineReader {
    private let file: gzFile
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)
    /// Bytes read (uncompressed).
    private(set) var bytesRead = 0

    /// - Throws: ``ComputeError`` when the file cannot be opened.
    init(path: String) throws(ComputeError) {
        let opened: gzFile? = path == "-" ? gzdopen(dup(0), "rb") : gzopen(path, "rb")
        guard let opened else { throw ComputeError("cannot open \(path): \(String(cString: strerror(errno)))") }
        file = opened
        gzbuffer(file, 1 << 20)
    }

    deinit { gzclose(file) }

    /// Calls `body` with every line (without its newline; a final line without one too).
    /// - Throws: ``ComputeError`` on a read error or a damaged gzip stream.
    func forEachLine(_ body: (UnsafeRawBufferPointer) -> Void) throws(ComputeError) {
        var carry: [UInt8] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
                throw ComputeError("read failed: \(message)")
            }
            if n == 0 { break }
            bytesRead += Int(n)
            buffer.withUnsafeBytes { raw in
                var start = 0
                let end = Int(n)
                while start < end {
                    guard let nl = UnsafeRawBufferPointer(rebasing: raw[start..<end]).firstIndex(of: 0x0A) else {
                        carry.append(contentsOf: raw[start..<end])
                        return
                    }
                    let stop = start + nl
                    if carry.isEmpty {
                        body(UnsafeRawBufferPointer(rebasing: raw[start..<stop]))
                    } else {
                        carry.append(contentsOf: raw[start..<stop])
                        carry.withUnsafeBytes { body($0) }
                        carry.removeAll(keepingCapacity: true)
                    }
                    start = stop + 1
                }
            }
        }
        if !carry.isEmpty { carry.withUnsafeBytes { body($0) } }
    }
}

/// `swapstats compute` could not run.
public struct ComputeError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
