#if canImport(Glibc)
    import Glibc
#endif

/// Checkpoints as files under a directory (`STATE_DIR`): `<dir>/<topic>/<partition>.ckpt`.
///
/// A save writes a temporary file, fsyncs it, renames it over the old one and fsyncs the
/// directory, so a crash at any point leaves the old or the new checkpoint intact.
public struct DirectoryCheckpointStore: CheckpointStore {
    public let directory: String

    /// - Throws: ``CheckpointError/io(_:)`` when the directory cannot be created.
    public init(directory: String) throws(CheckpointError) {
        self.directory = directory
        try makeDirectories(directory)
    }

    func path(topic: String, partition: Int32) -> String { "\(directory)/\(topic)/\(partition).ckpt" }

    public func load(topic: String, partition: Int32) throws(CheckpointError) -> [UInt8]? {
        let p = path(topic: topic, partition: partition)
        let fd = open(p, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .io("open \(p): \(lastError())")
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io("read \(p): \(lastError())")
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }

    public func save(_ bytes: [UInt8], topic: String, partition: Int32) throws(CheckpointError) {
        let folder = "\(directory)/\(topic)"
        try makeDirectories(folder)
        let final = path(topic: topic, partition: partition)
        let temporary = "\(final).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io("create \(temporary): \(lastError())") }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let message = lastError()
                close(fd)
                unlink(temporary)
                throw .io("write \(temporary): \(message)")
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let message = lastError()
            close(fd)
            unlink(temporary)
            throw .io("fsync \(temporary): \(message)")
        }
        close(fd)
        guard rename(temporary, final) == 0 else {
            let message = lastError()
            unlink(temporary)
            throw .io("rename to \(final): \(message)")
        }
        try syncDirectory(folder)
    }

    public func quarantine(topic: String, partition: Int32) throws(CheckpointError) {
        let p = path(topic: topic, partition: partition)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let aside = "\(p).corrupt-\(now.tv_sec)"
        guard rename(p, aside) == 0 || errno == ENOENT else { throw .io("rename \(p): \(lastError())") }
    }
}

private func lastError() -> String {
    String(
        decoding: strerror(errno).map { UnsafeRawBufferPointer(start: $0, count: strlen($0)) }
            ?? UnsafeRawBufferPointer(start: nil, count: 0), as: UTF8.self)
}

private func makeDirectories(_ path: String) throws(CheckpointError) {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/") {
        prefix += part + "/"
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw .io("mkdir \(prefix): \(lastError())") }
    }
}

private func syncDirectory(_ path: String) throws(CheckpointError) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw .io("open \(path): \(lastError())") }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw .io("fsync \(path): \(lastError())") }
}
