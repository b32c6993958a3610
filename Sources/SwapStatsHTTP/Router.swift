public import CoreMetrics
import Dispatch
import NIOCore
import SwapStatsCore
import Synchronization

/// Maps a request to an answer (contract §3). Pure routing and validation; data comes from
/// a ``StatsQuerying``. Errors are problem+json with the right status.
public struct Router: Sendable {
    public let source: any StatsQuerying
    /// Longest accepted request target, in bytes (414 beyond).
    public let maxURILength: Int
    /// Renders `/metrics` (Prometheus text format 0.0.4); nil: no such route.
    public let metrics: (@Sendable () -> [UInt8])?
    private let meters: RouteMeters
    private let openAPI: ByteBuffer
    /// Accepted `Authorization: Bearer` keys for the data routes; empty: no authentication.
    private let apiKeys: Set<String>

    /// - Parameter metricsFactory: where request counts and latencies go (default: the
    ///   bootstrapped `MetricsSystem`).
    public init(
        source: any StatsQuerying, maxURILength: Int = 2048, metrics: (@Sendable () -> [UInt8])? = nil,
        metricsFactory: (any MetricsFactory)? = nil, apiKeys: Set<String> = []
    ) {
        self.apiKeys = apiKeys
        self.source = source
        self.maxURILength = maxURILength
        self.metrics = metrics
        meters = RouteMeters(factory: metricsFactory ?? MetricsSystem.factory)
        openAPI = ByteBuffer(string: OpenAPIDocument.json(windows: source.windows, bucketStep: source.bucketStep))
    }

    /// How a request is answered: at once (on the event loop), or by a task.
    public enum Reply: Sendable {
        case now(HTTPAnswer)
        case later(@Sendable () async -> HTTPAnswer)
    }

    /// The answer to `method` `uri` (a request target: path and optional query), counted in
    /// `swapstats_http_requests_total{route,status}` and timed in
    /// `swapstats_http_request_duration_seconds{route}`. Stats, rankings, probes and
    /// documents are answered at once; candles need the owning shard, in a task.
    /// - Parameter authorization: the request's `Authorization` header, if any.
    public func reply(method: String, uri: String, authorization: String? = nil) -> Reply {
        let started = DispatchTime.now().uptimeNanoseconds
        var route: Route?
        let reply = answer(method: method, uri: uri, authorization: authorization, route: &route)
        let label = route?.label ?? "other"
        switch reply {
        case .now(let answer):
            count(answer, route: label, since: started)
            return reply
        case .later(let work):
            return .later {
                let answer = await work()
                count(answer, route: label, since: started)
                return answer
            }
        }
    }

    /// The answer, awaited whichever way it comes.
    public func respond(method: String, uri: String, authorization: String? = nil) async -> HTTPAnswer {
        switch reply(method: method, uri: uri, authorization: authorization) {
        case .now(let answer): answer
        case .later(let work): await work()
        }
    }

    private func count(_ answer: HTTPAnswer, route: String, since started: UInt64) {
        let (counter, timer) = meters.meters(route: route, status: answer.status)
        counter.increment()
        timer.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
    }

    /// What a WebSocket upgrade of `uri` subscribes to, or nil when the request must be
    /// answered as plain HTTP instead (bad token, missing API key, not a WebSocket route).
    public func webSocketTarget(uri: String, authorization: String?) -> WebSocketTarget? {
        guard uri.utf8.count <= maxURILength else { return nil }
        let (path, query) = split(uri)
        guard let segments = decodeSegments(path), let parameters = decodeQuery(query), isAuthorized(authorization)
        else { return nil }
        switch segments {
        case ["ws"]: return .multiplexed
        case let s where s.count == 3 && s[0] == "tokens" && s[2] == "ws":
            guard let token = validToken(s[1]), let trades = tradesFlag(parameters) else { return nil }
            return .token(token, trades: trades)
        default: return nil
        }
    }

    private func isAuthorized(_ authorization: String?) -> Bool {
        guard !apiKeys.isEmpty else { return true }
        let key = authorization.flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        return key.map(apiKeys.contains) ?? false
    }

    private func answer(method: String, uri: String, authorization: String?, route matched: inout Route?) -> Reply {
        guard uri.utf8.count <= maxURILength else {
            return .now(.problem(414, "the request target is longer than \(maxURILength) bytes"))
        }
        let (path, query) = split(uri)
        guard let segments = decodeSegments(path) else {
            return .now(.problem(400, "the path is not valid percent-encoded UTF-8"))
        }
        let route: Route
        switch segments {
        case ["healthz"]: route = .health
        case ["readyz"]: route = .ready
        case ["metrics"] where metrics != nil: route = .metrics
        case ["openapi.json"]: route = .openapi
        case ["tokens", "top"]: route = .top
        case ["ws"]: route = .webSocket(nil)
        case let s where s.count == 3 && s[0] == "tokens" && s[2] == "stats": route = .stats(s[1])
        case let s where s.count == 3 && s[0] == "tokens" && s[2] == "candles": route = .candles(s[1])
        case let s where s.count == 3 && s[0] == "tokens" && s[2] == "ws": route = .webSocket(s[1])
        default: return .now(.problem(404, "no such resource: \(path)"))
        }
        matched = route
        guard method == "GET" || method == "HEAD" else {
            return .now(.problem(405, "\(method) is not allowed here; use GET", headers: ["allow": "GET, HEAD"]))
        }
        if route.needsKey && !isAuthorized(authorization) {
            return .now(
                .problem(
                    401, "an API key is required: Authorization: Bearer <key>", headers: ["www-authenticate": "Bearer"])
            )
        }
        guard let parameters = decodeQuery(query) else { return .now(.problem(400, "the query string is not valid")) }
        switch route {
        case .health: return .now(HTTPAnswer(status: 200, body: Self.healthBody))
        case .openapi: return .now(HTTPAnswer(status: 200, body: openAPI))
        case .metrics:
            return .now(
                HTTPAnswer(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics?() ?? [])
            )
        case .ready:
            return .now(
                source.isReady
                    ? HTTPAnswer(status: 200, body: Self.readyBody)
                    : .problem(503, "assigned partitions are not restored and consuming yet"))
        case .stats(let raw):
            guard let token = validToken(raw) else { return .now(.problem(400, "a token id is 1–128 bytes")) }
            if let body = source.statsBody(token: token) { return .now(HTTPAnswer(status: 200, body: body)) }
            guard source.hasRemote else { return .now(.problem(404, "no trade of \(token) in the largest window")) }
            // Owned by another instance: its snapshot in Redis, the same bytes.
            let source = self.source
            return .later {
                guard let body = await source.remoteStatsBody(token: token) else {
                    return .problem(404, "no trade of \(token) in the largest window")
                }
                return HTTPAnswer(status: 200, body: body)
            }
        case .top: return top(parameters)
        case .candles(let raw):
            guard let token = validToken(raw) else { return .now(.problem(400, "a token id is 1–128 bytes")) }
            return candles(token: token, parameters)
        case .webSocket(let raw):
            if let raw, validToken(raw) == nil { return .now(.problem(400, "a token id is 1–128 bytes")) }
            if tradesFlag(parameters) == nil { return .now(.problem(400, "trades must be 0, 1, true or false")) }
            return .now(
                .problem(
                    426, "this is a WebSocket endpoint: send an Upgrade: websocket request",
                    headers: ["upgrade": "websocket", "connection": "Upgrade"]))
        }
    }

    private static let healthBody = ByteBuffer(string: "{\"status\":\"ok\"}")
    private static let readyBody = ByteBuffer(string: "{\"status\":\"ready\"}")

    private enum Route {
        case health, ready, top, metrics, openapi
        case stats(String)
        case candles(String)
        case webSocket(String?)

        /// Data routes need an API key when keys are configured; probes and docs do not.
        var needsKey: Bool {
            switch self {
            case .health, .ready, .metrics, .openapi: false
            case .top, .stats, .candles, .webSocket: true
            }
        }

        /// The `route` label: the path template.
        var label: String {
            switch self {
            case .health: "/healthz"
            case .ready: "/readyz"
            case .top: "/tokens/top"
            case .metrics: "/metrics"
            case .openapi: "/openapi.json"
            case .stats: "/tokens/{token}/stats"
            case .candles: "/tokens/{token}/candles"
            case .webSocket(let token): token == nil ? "/ws" : "/tokens/{token}/ws"
            }
        }
    }

    private func top(_ p: [String: String]) -> Reply {
        let windowName = p["window"] ?? source.windows.first { $0.name == "1h" }?.name ?? source.windows[0].name
        guard source.windows.contains(where: { $0.name == windowName }) else {
            return .now(.problem(400, "window must be one of \(source.windows.map(\.name).joined(separator: ", "))"))
        }
        guard let by = RankBy(rawValue: p["by"] ?? "volumeUsd") else {
            return .now(.problem(400, "by must be one of \(RankBy.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        guard let limit = Int(p["limit"] ?? "20"), (1...1000).contains(limit) else {
            return .now(.problem(400, "limit must be an integer from 1 to 1000"))
        }
        let source = self.source
        let local: @Sendable () -> HTTPAnswer = {
            let (asOf, tokens) = source.top(window: windowName, by: by, limit: limit)
            return HTTPAnswer(status: 200, body: StatsJSON.encode(top: tokens, window: windowName, by: by, asOf: asOf))
        }
        guard source.hasRemote else { return .now(local()) }
        // Across every instance: the sorted sets in Redis (this instance's ranking if Redis is away).
        return .later {
            guard let (asOf, tokens) = await source.remoteTop(window: windowName, by: by, limit: limit) else {
                return local()
            }
            return HTTPAnswer(status: 200, body: StatsJSON.encode(top: tokens, window: windowName, by: by, asOf: asOf))
        }
    }

    private func candles(token: String, _ p: [String: String]) -> Reply {
        let text = p["interval"] ?? "1m"
        let largest = source.windows[source.windows.count - 1].millis
        guard let interval = DurationText.millis(text), interval > 0, interval % source.bucketStep == 0,
            interval <= largest
        else {
            return .now(
                .problem(
                    400, "interval must be a multiple of the \(source.bucketStep) ms step, at most the largest window"))
        }
        guard let limit = Int(p["limit"] ?? "300"), (1...5000).contains(limit) else {
            return .now(.problem(400, "limit must be an integer from 1 to 5000"))
        }
        let source = self.source
        return .later {
            guard let (asOf, candles) = await source.candles(token: token, interval: interval, limit: limit) else {
                return .problem(404, "no trade of \(token) in the largest window")
            }
            return HTTPAnswer(
                status: 200, body: StatsJSON.encode(candles: candles, token: token, interval: text, asOf: asOf))
        }
    }

    /// `?trades=`: absent or 0/false → false, 1/true → true, anything else nil.
    private func tradesFlag(_ p: [String: String]) -> Bool? {
        switch p["trades"] {
        case nil, "0", "false": false
        case "1", "true": true
        default: nil
        }
    }

    /// The token as stored, or nil when it breaks contract §1 (1–128 bytes).
    private func validToken(_ raw: String) -> String? { TokenID.normalized(raw) }
}

private func split(_ uri: String) -> (path: Substring, query: Substring) {
    guard let q = uri.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (Substring(uri), "") }
    return (uri[..<q], uri[uri.utf8.index(after: q)...])
}

/// Path segments, percent-decoded; nil for bad escapes or invalid UTF-8.
private func decodeSegments(_ path: Substring) -> [String]? {
    var out: [String] = []
    out.reserveCapacity(4)
    let escaped = path.utf8.contains(UInt8(ascii: "%"))
    for part in path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
        // Most paths have no escape: their segments are already what they say.
        guard let s = escaped ? percentDecoded(Substring(part), plusIsSpace: false) : String(Substring(part)) else {
            return nil
        }
        out.append(s)
    }
    return out
}

private func decodeQuery(_ query: Substring) -> [String: String]? {
    var out: [String: String] = [:]
    for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
        let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard let k = percentDecoded(kv[0], plusIsSpace: true),
            let v = percentDecoded(kv.count > 1 ? kv[1] : "", plusIsSpace: true)
        else { return nil }
        out[k] = v
    }
    return out
}

private func percentDecoded(_ s: Substring, plusIsSpace: Bool) -> String? {
    var bytes: [UInt8] = []
    var it = s.utf8.makeIterator()
    while let c = it.next() {
        if c == UInt8(ascii: "%") {
            guard let h = it.next().flatMap(hexValue), let l = it.next().flatMap(hexValue) else { return nil }
            bytes.append(h << 4 | l)
        } else if c == UInt8(ascii: "+") && plusIsSpace {
            bytes.append(0x20)
        } else {
            bytes.append(c)
        }
    }
    return String(validating: bytes, as: UTF8.self)
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// What a WebSocket connection follows.
public enum WebSocketTarget: Sendable, Equatable {
    /// `/tokens/{token}/ws`: one token, with its trades when asked (`?trades=1`).
    case token(String, trades: Bool)
    /// `/ws`: tokens the client subscribes to by message.
    case multiplexed
}

/// The request counter of each (route, status) and the latency timer of each route,
/// created once: a metrics factory's lookup costs a lock and label checks per call.
private final class RouteMeters: Sendable {
    private let factory: any MetricsFactory
    private let made = Mutex<[String: (Counter, Timer)]>([:])

    init(factory: any MetricsFactory) { self.factory = factory }

    func meters(route: String, status: Int) -> (Counter, Timer) {
        let key = "\(status) \(route)"
        if let m = made.withLock({ $0[key] }) { return m }
        let m = (
            Counter(
                label: "swapstats_http_requests_total", dimensions: [("route", route), ("status", "\(status)")],
                factory: factory),
            Timer(label: "swapstats_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
        )
        made.withLock { $0[key] = m }
        return m
    }
}
