import Foundation
import SwapStatsCore
import SwapStatsHTTP
import Testing

@Suite struct OpenAPITests {
    let source: EngineQueries
    let router: Router
    let document: [String: Any]

    init() throws {
        source = try EngineQueries(events: 2_000)
        router = Router(source: source, metrics: { Array("swapstats_x 1\n".utf8) })
        let json = OpenAPIDocument.json(windows: source.windows, bucketStep: source.bucketStep)
        document = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
    }

    /// `required` of a schema in components.
    func required(_ schema: String) -> Set<String> {
        let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any]
        return Set(((schemas?[schema] as? [String: Any])?["required"] as? [String]) ?? [])
    }

    @Test func theServedDocumentIsOpenAPI31AndDescribesExactlyTheRoutes() async throws {
        let served = await router.respond(method: "GET", uri: "/openapi.json")
        #expect(served.status == 200)
        #expect(
            served.bytes == Array(OpenAPIDocument.json(windows: source.windows, bucketStep: source.bucketStep).utf8))
        #expect(
            OpenAPIDocument.json(windows: source.windows, bucketStep: source.bucketStep).contains(
                #""enum": ["5m", "1h", "24h"]"#))
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = Set((document["paths"] as? [String: Any] ?? [:]).keys)
        #expect(
            paths == [
                "/tokens/{token}/stats", "/tokens/top", "/tokens/{token}/candles", "/healthz", "/readyz", "/metrics",
                "/openapi.json", "/tokens/{token}/ws", "/ws",
            ])
        let token = source.engine.allStats()[0].token
        for path in paths {
            let uri = path.replacingOccurrences(of: "{token}", with: token)
            let a = await router.respond(method: "GET", uri: uri)
            // WebSocket routes answer a plain GET with 426; their 101 is checked live.
            #expect(a.status == (path.hasSuffix("ws") ? 426 : 200), "\(path)")
        }
    }

    @Test func answersCarryEveryRequiredFieldOfTheirSchemas() async throws {
        let token = source.engine.allStats()[0].token
        let stats =
            try JSONSerialization.jsonObject(
                with: Data(await router.respond(method: "GET", uri: "/tokens/\(token)/stats").bytes)) as! [String: Any]
        #expect(required("TokenStats").isSubset(of: stats.keys))
        let windows = stats["windows"] as! [String: [String: Any]]
        #expect(windows.count == source.windows.count)
        for w in windows.values { #expect(required("Window") == Set(w.keys)) }
        #expect(required("Trade") == Set((stats["lastTrade"] as! [String: Any]).keys))
        let top =
            try JSONSerialization.jsonObject(
                with: Data(await router.respond(method: "GET", uri: "/tokens/top").bytes)) as! [String: Any]
        #expect(required("Top") == Set(top.keys))
        let candles =
            try JSONSerialization.jsonObject(
                with: Data(await router.respond(method: "GET", uri: "/tokens/\(token)/candles").bytes))
            as! [String: Any]
        #expect(required("Candles") == Set(candles.keys))
        let problem =
            try JSONSerialization.jsonObject(
                with: Data(await router.respond(method: "GET", uri: "/tokens/none/stats").bytes)) as! [String: Any]
        #expect(required("Problem").isSubset(of: problem.keys))
    }
}
