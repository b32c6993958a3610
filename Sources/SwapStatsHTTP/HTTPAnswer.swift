public import NIOCore
import SwapStatsCore

/// A response, independent of the wire protocol (HTTP/1.1 or HTTP/2).
public struct HTTPAnswer: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    /// Headers besides `content-type` and `content-length` (usually none: no allocation).
    public var extraHeaders: [String: String]
    /// Shared, not copied: a published stats body goes out as the board holds it.
    public var body: ByteBuffer

    public init(
        status: Int, contentType: String = "application/json", headers: [String: String] = [:], body: ByteBuffer
    ) {
        self.status = status
        self.contentType = contentType
        extraHeaders = headers
        self.body = body
    }

    /// Every header but `content-length`.
    public var headers: [String: String] { extraHeaders.merging(["content-type": contentType]) { $1 } }

    public init(status: Int, contentType: String = "application/json", headers: [String: String] = [:], body: [UInt8]) {
        self.init(status: status, contentType: contentType, headers: headers, body: ByteBuffer(bytes: body))
    }

    /// The body's bytes.
    public var bytes: [UInt8] { Array(body.readableBytesView) }

    /// An `application/problem+json` (RFC 9457) answer.
    public static func problem(_ status: Int, _ detail: String, headers: [String: String] = [:]) -> HTTPAnswer {
        var body = "{\"type\":\"about:blank\",\"title\":\"\(title(of: status))\",\"status\":\(status),\"detail\":"
        body += StatsJSON.quoted(detail) + "}"
        return HTTPAnswer(
            status: status, contentType: "application/problem+json", headers: headers, body: Array(body.utf8))
    }

    static func title(of status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 413: "Content Too Large"
        case 426: "Upgrade Required"
        case 414: "URI Too Long"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Error"
        }
    }
}
