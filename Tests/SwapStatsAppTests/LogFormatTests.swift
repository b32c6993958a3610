import Foundation
import Testing

@testable import SwapStatsApp

@Suite struct LogFormatTests {
    @Test func jsonLogTimestampsReadAsISO8601DateFormatterWritesThem() {
        let formatter = ISO8601DateFormatter()
        var rng = SystemRandomNumberGenerator()
        // The epoch, leap days, the ends of years and months, and random times up to 2100.
        let fixed = [0, 951_782_400, 1_709_164_799, 1_735_689_599, 1_764_720_000, 4_102_444_799]
        let random = (0..<2_000).map { _ in Int.random(in: 0...4_102_444_799, using: &rng) }
        for seconds in fixed + random {
            let want = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            #expect(JSONLogHandler.timestamp(seconds) == want, "\(seconds)")
        }
    }
}
