import SwapStatsCore
import Testing

@Suite struct ConfigurationTests {
    @Test func defaultsMatchTheContract() throws {
        let c = try EngineConfiguration.fromEnvironment([:])
        #expect(c.windows.map(\.name) == ["5m", "1h", "24h"])
        #expect(c.bucketStep == 5_000 && c.allowedLateness == 5_000 && c.dedupTTL == 86_400_000)
        #expect(c.latePolicy == .apply && c.clock == .wall && c.idleFlush == 1_000)
    }

    @Test func environmentOverridesEveryValue() throws {
        let c = try EngineConfiguration.fromEnvironment([
            "WINDOWS": "1h, 10s", "BUCKET_STEP": "250ms", "ALLOWED_LATENESS": "2s", "LATE_EVENTS": "drop",
            "DEDUP_TTL": "1100ms", "CLOCK": "event", "IDLE_FLUSH": "3s",
        ])
        #expect(c.windows.map(\.name) == ["10s", "1h"])
        #expect(c.bucketStep == 250 && c.allowedLateness == 2_000 && c.latePolicy == .drop)
        #expect(c.dedupTTL == 1_250)
        #expect(c.clock == .event && c.idleFlush == 3_000)
    }

    @Test(arguments: [
        ("WINDOWS", "5m,banana"), ("WINDOWS", "7s"), ("WINDOWS", "5m,300s"), ("BUCKET_STEP", "0s"),
        ("ALLOWED_LATENESS", "-1"), ("ALLOWED_LATENESS", "2d"), ("LATE_EVENTS", "keep"), ("CLOCK", "sundial"),
        ("DEDUP_TTL", "xyz"), ("IDLE_FLUSH", "0ms"),
    ])
    func badValuesNameTheirVariable(variable: String, value: String) {
        #expect {
            _ = try EngineConfiguration.fromEnvironment([variable: value])
        } throws: { error in
            (error as? ConfigurationError)?.variable == variable
        }
    }

    @Test func durationsParse() {
        #expect(DurationText.millis("250ms") == 250)
        #expect(DurationText.millis("5s") == 5_000)
        #expect(DurationText.millis("24h") == 86_400_000)
        #expect(DurationText.millis("1d") == 86_400_000)
        #expect(DurationText.millis("1.5s") == nil)
        #expect(DurationText.millis("") == nil)
    }
}
