import Foundation
import Logging
import ServiceLifecycle
import SwapStatsHTTP

/// Serves the HTTP API until graceful shutdown (listed last, so it stops first).
struct HTTPService: Service {
    let server: HTTPServer
    let host: String
    let port: Int
    let logger: Logger
    var onListening: @Sendable (String) -> Void = { _ in }

    func run() async throws {
        let bound = try await server.start(host: host, port: port)
        logger.notice("HTTP/1.1 and h2c API listening", metadata: ["http.address": "\(host):\(bound)"])
        // A stable line on stdout for scripts and tests: `http listening=<host>:<port>`.
        FileHandle.standardOutput.write(Data("http listening=\(host):\(bound)\n".utf8))
        onListening("\(host):\(bound)")
        try? await gracefulShutdown()
        await server.stop()
    }
}
