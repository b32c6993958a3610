#if canImport(Glibc)
    import Glibc
#endif

/// Checkpoints as files under a directory (`STATE_DIR`): per partition a folder
/// `<dir>/<topic>/<partition>/` holding `MANIFEST` and the blobs it names.
///
/// Every file is written to a temporary name, fsynced, renamed into place, and the folder
/// fsynced, so a crash at any point leaves the old or the new file whole; blobs are written
/// before the manifest that names them. One instance owns a directory: nothing is fenced
/// (epoch 0). A checkpoint of the format before incremental checkpoints
/// (`<dir>/<topic>/<partition>.ckpt`) is refused as unusable.
public struct DirectoryCheckpointStore: CheckpointStore {
    public let directory: String
    static let manifestName = "MANIFEST"

    /// - Throws: ``CheckpointError/io(_:)`` when the directory cannot be created.
    public init(directory: String) throws(CheckpointError) {
        self.directory = directory
        try makeDirectories(directory)
    }

    func folder(_ topic: String, _ partition: Int32) -> String { "\(directory)/\(topic)/\(partition)" }
    func legacyPath(_ topic: String, _ partition: Int32) -> String { "\(directory)/\(topic)/\(partition).ckpt" }

    public func readManifest(topic: String, partition: Int32) throws(CheckpointError) -> (
        bytes: [UInt8]?, epoch: UInt64
    ) {
        if access(legacyPath(topic, partition), F_OK) == 0 {
            throw .unusable(
                "\(legacyPath(topic, partition)) is a checkpoint of format 1, which this version does not read")
        }
        return (try readFile("\(folder(topic, partition))/\(Self.manifestName)", range: nil), 0)
    }

    public func writeManifest(_ bytes: [UInt8], topic: String, partition: Int32) throws(CheckpointError) {
        try writeFile(bytes, folder: folder(topic, partition), name: Self.manifestName)
    }

    public func writeBlob(_ name: String, _ bytes: [UInt8], topic: String, partition: Int32) throws(CheckpointError) {
        try writeFile(bytes, folder: folder(topic, partition), name: name)
    }

    public func readBlob(_ name: String, range: Range<Int>?, topic: String, partition: Int32) throws(CheckpointError)
        -> [UInt8]
    {
        guard let bytes = try readFile("\(folder(topic, partition))/\(name)", range: range) else {
            throw .io("blob \(name) of \(topic)/\(partition) is missing")
        }
        if let range, bytes.count != range.count { throw .corrupt("blob \(name) is shorter than its table says") }
        return bytes
    }

    public func listBlobs(topic: String, partition: Int32) throws(CheckpointError) -> [String] {
        let path = folder(topic, partition)
        guard let dir = opendir(path) else {
            if errno == ENOENT { return [] }
            throw .io("opendir \(path): \(lastError())")
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." && name != Self.manifestName && !name.contains(".tmp-") {
                names.append(name)
            }
        }
        return names
    }

    public func deleteBlobs(_ names: [String], topic: String, partition: Int32) throws(CheckpointError) {
        let path = folder(topic, partition)
        for name in names where unlink("\(path)/\(name)") != 0 && errno != ENOENT {
            throw .io("unlink \(path)/\(name): \(lastError())")
        }
    }

    public func quarantine(topic: String, partition: Int32) throws(CheckpointError) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        for p in [legacyPath(topic, partition), folder(topic, partition)] {
            guard rename(p, "\(p).corrupt-\(now.tv_sec)") == 0 || errno == ENOENT else {
                throw .io("rename \(p): \(lastError())")
            }
        }
    }

    /// The file's bytes (or the range of them), nil when it does not exist.
    private func readFile(_ path: String, range: Range<Int>?) throws(CheckpointError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .io("open \(path): \(lastError())")
        }
        defer { close(fd) }
        var size = range?.count ?? 0
        if range == nil {
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw .io("stat \(path): \(lastError())") }
            size = Int(st.st_size)
        }
        let start = range?.lowerBound ?? 0
        var failure: CheckpointError?
        // Read straight into the array's storage (no zero-filling first).
        let out = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var done = 0
            while done < size {
                let n = pread(fd, buffer.baseAddress! + done, size - done, off_t(start + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = .io("read \(path): \(lastError())")
                    break
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        if let failure { throw failure }
        return out
    }

    /// Writes `bytes` as `folder/name`: a temporary file, fsync, rename, fsync of the folder.
    private func writeFile(_ bytes: [UInt8], folder: String, name: String) throws(CheckpointError) {
        try makeDirectories(folder)
        let final = "\(folder)/\(name)"
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
