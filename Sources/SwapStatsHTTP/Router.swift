public import CoreMetrics
import Dispatch
import SwapStatsCore

/// Maps a request to an answer (contract §3). Pure routing and validation; data comes from
/// a ``StatsQuerying``. Errors are problem+json with the right status.
public struct Router: Sendable {
    public let source: any StatsQuerying
    /// Longest accepted request target, in bytes (414 beyond).
    public let maxURILength: Int
    /// Renders `/metrics` (Prometheus text format 0.0.4); nil: no such route.
    public let metrics: (@Sendable () -> [UInt8])?
    private let factory: any MetricsFactory
    private let openAPI: [UInt8]
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
        factory = metricsFactory ?? MetricsSystem.factory
        openAPI = Array(OpenAPIDocument.json(windows: source.windows, bucketStep: source.bucketStep).utf8)
    }

    /// The answer to `method` `uri` (a request target: path and optional query), counted in
    /// `swapstats_http_requests_total{route,status}` and timed in
    /// `swapstats_http_request_duration_seconds{route}`.
    /// - Parameter authorization: the request's `Authorization` header, if any.
    public func respond(method: String, uri: String, authorization: String? = nil) async -> HTTPAnswer {
        let started = DispatchTime.now().uptimeNanoseconds
        let (answer, route) = await answer(method: method, uri: uri, authorization: authorization)
        Counter(
            label: "swapstats_http_requests_total", dimensions: [("route", route), ("status", "\(answer.status)")],
            factory: factory
        ).increment()
        Timer(label: "swapstats_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        return answer
    }

    private func answer(method: String, uri: String, authorization: String?) async -> (HTTPAnswer, String) {
        var route: Route?
        let answer = await respond(method: method, uri: uri, authorization: authorization, route: &route)
        return (answer, route?.label ?? "other")
    }

    private func respond(
        method: String, uri: String, authorization: String?, route matched: inout Route?
    ) async -> HTTPAnswer {
        guard uri.utf8.count <= maxURILength else {
            return .problem(414, "the request target is longer than \(maxURILength) bytes")
        }
        let (path, query) = split(uri)
        guard let segments = decodeSegments(path) else {
            return .problem(400, "the path is not valid percent-encoded UTF-8")
        }
        let route: Route
        switch segments {
        case ["healthz"]: route = .health
        case ["readyz"]: route = .ready
        case ["metrics"] where metrics != nil: route = .metrics
        case ["openapi.json"]: route = .openapi
        case ["tokens", "top"]: route = .top
        case let s where s.count == 3 && s[0] == "tokens" && s[2] == "stats": route = .stats(s[1])
        case let s where s.count == 3 && s[0] == "tokens" && s[2] == "candles": route = .candles(s[1])
        default: return .problem(404, "no such resource: \(path)")
        }
        matched = route
        guard method == "GET" || method == "HEAD" else {
            return .problem(405, "\(method) is not allowed here; use GET", headers: ["allow": "GET, HEAD"])
        }
        if !apiKeys.isEmpty && route.needsKey {
            let key = authorization.flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
            guard let key, apiKeys.contains(key) else {
                return .problem(
                    401, "an API key is required: Authorization: Bearer <key>", headers: ["www-authenticate": "Bearer"])
            }
        }
        guard let parameters = decodeQuery(query) else { return .problem(400, "the query string is not valid") }
        switch route {
        case .health: return HTTPAnswer(status: 200, body: Array("{\"status\":\"ok\"}".utf8))
        case .openapi: return HTTPAnswer(status: 200, body: openAPI)
        case .metrics:
            return HTTPAnswer(
                status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics?() ?? [])
        case .ready:
            return source.isReady
                ? HTTPAnswer(status: 200, body: Array("{\"status\":\"ready\"}".utf8))
                : .problem(503, "assigned partitions are not restored and consuming yet")
        case .stats(let raw):
            guard let token = validToken(raw) else { return .problem(400, "a token id is 1–128 bytes") }
            guard let stats = await source.stats(token: token) else {
                return .problem(404, "no trade of \(token) in the largest window")
            }
            return HTTPAnswer(status: 200, body: StatsJSON.encode(stats))
        case .top: return await top(parameters)
        case .candles(let raw):
            guard let token = validToken(raw) else { return .problem(400, "a token id is 1–128 bytes") }
            return await candles(token: token, parameters)
        }
    }

    private enum Route {
        case health, ready, top, metrics, openapi
        case stats(String)
        case candles(String)

        /// Data routes need an API key when keys are configured; probes and docs do not.
        var needsKey: Bool {
            switch self {
            case .health, .ready, .metrics, .openapi: false
            case .top, .stats, .candles: true
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
            }
        }
    }

    private func top(_ p: [String: String]) async -> HTTPAnswer {
        let windowName = p["window"] ?? source.windows.first { $0.name == "1h" }?.name ?? source.windows[0].name
        guard source.windows.contains(where: { $0.name == windowName }) else {
            return .problem(400, "window must be one of \(source.windows.map(\.name).joined(separator: ", "))")
        }
        guard let by = RankBy(rawValue: p["by"] ?? "volumeUsd") else {
            return .problem(400, "by must be one of \(RankBy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let limit = Int(p["limit"] ?? "20"), (1...1000).contains(limit) else {
            return .problem(400, "limit must be an integer from 1 to 1000")
        }
        let (asOf, tokens) = await source.top(window: windowName, by: by, limit: limit)
        return HTTPAnswer(status: 200, body: StatsJSON.encode(top: tokens, window: windowName, by: by, asOf: asOf))
    }

    private func candles(token: String, _ p: [String: String]) async -> HTTPAnswer {
        let text = p["interval"] ?? "1m"
        let largest = source.windows[source.windows.count - 1].millis
        guard let interval = DurationText.millis(text), interval > 0, interval % source.bucketStep == 0,
            interval <= largest
        else {
            return .problem(
                400, "interval must be a multiple of the \(source.bucketStep) ms step, at most the largest window")
        }
        guard let limit = Int(p["limit"] ?? "300"), (1...5000).contains(limit) else {
            return .problem(400, "limit must be an integer from 1 to 5000")
        }
        guard let (asOf, candles) = await source.candles(token: token, interval: interval, limit: limit) else {
            return .problem(404, "no trade of \(token) in the largest window")
        }
        return HTTPAnswer(
            status: 200, body: StatsJSON.encode(candles: candles, token: token, interval: text, asOf: asOf))
    }

    /// The lowercased token, or nil when it breaks contract §1 (1–128 bytes).
    private func validToken(_ raw: String) -> String? {
        let token = raw.lowercased()
        return (1...128).contains(token.utf8.count) ? token : nil
    }
}

private func split(_ uri: String) -> (path: Substring, query: Substring) {
    guard let q = uri.firstIndex(of: "?") else { return (Substring(uri), "") }
    return (uri[..<q], uri[uri.index(after: q)...])
}

/// Path segments, percent-decoded; nil for bad escapes or invalid UTF-8.
private func decodeSegments(_ path: Substring) -> [String]? {
    var out: [String] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        guard let s = percentDecoded(part, plusIsSpace: false) else { return nil }
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
