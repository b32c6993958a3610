import SwapStatsCore

/// Builds events with explicit times for unit tests.
func swap(
    _ id: String, _ token: String = "tok", who: String = "w1", side: Side = .buy, amount: Double = 1,
    usd: Double = 1, ts: Int64, price: Double? = nil
) -> SwapEvent {
    SwapEvent(id: id, token: token, who: who, side: side, amount: amount, usd: usd, ts: ts, price: price)
}

/// Engine configuration with event clock and small windows (step 1 s; 5 s, 60 s).
func smallConfiguration(
    lateness: Int64 = 0, late: LatePolicy = .apply, dedupTTL: Int64? = nil, clock: ClockMode = .event
) -> EngineConfiguration {
    try! EngineConfiguration(
        windows: [WindowSpec(name: "5s", millis: 5_000), WindowSpec(name: "1m", millis: 60_000)], bucketStep: 1_000,
        allowedLateness: lateness, latePolicy: late, dedupTTL: dedupTTL, clock: clock, idleFlush: 1_000)
}
