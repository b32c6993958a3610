internal import CRdKafka

/// A failure reported by librdkafka, or by this wrapper around it.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// librdkafka's error code (`rd_kafka_resp_err_t`), or 0 for wrapper errors.
    public let code: Int32
    /// librdkafka's name for the code, e.g. `_TRANSPORT`, `UNKNOWN_TOPIC_OR_PART`.
    public let name: String
    public let message: String
    /// librdkafka flagged the handle as unusable (fatal error).
    public let isFatal: Bool
    public let file: String
    public let line: Int

    init(code: rd_kafka_resp_err_t, message: String, isFatal: Bool = false, file: String = #fileID, line: Int = #line) {
        self.code = code.rawValue
        self.name = String(cString: rd_kafka_err2name(code))
        self.message = message
        self.isFatal = isFatal
        self.file = file
        self.line = line
    }

    /// A wrapper-level error (bad configuration, timeout) with no librdkafka code.
    init(message: String, file: String = #fileID, line: Int = #line) {
        self.code = 0
        self.name = "swapstats"
        self.message = message
        self.isFatal = false
        self.file = file
        self.line = line
    }

    /// The operation may succeed when retried (a full queue, a broker that is away).
    public var isRetriable: Bool {
        let c = rd_kafka_resp_err_t(rawValue: code)
        return c == RD_KAFKA_RESP_ERR__QUEUE_FULL || c == RD_KAFKA_RESP_ERR__TRANSPORT
            || c == RD_KAFKA_RESP_ERR__TIMED_OUT || c == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN
            || c == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT || c == RD_KAFKA_RESP_ERR_NOT_COORDINATOR
            || c == RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS
    }

    public var description: String { "kafka \(name): \(message)" }

    /// The one place that turns a librdkafka status into a Swift error.
    static func check(_ code: rd_kafka_resp_err_t, _ what: @autoclosure () -> String) throws(KafkaError) {
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        throw KafkaError(code: code, message: "\(what()): \(String(cString: rd_kafka_err2str(code)))")
    }

    /// Turns a `rd_kafka_error_t` (freed here) into a Swift error; nil when there is none.
    static func consume(_ error: OpaquePointer?, _ what: String) -> KafkaError? {
        guard let error else { return nil }
        defer { rd_kafka_error_destroy(error) }
        return KafkaError(
            code: rd_kafka_error_code(error),
            message: "\(what): \(String(cString: rd_kafka_error_string(error)))",
            isFatal: rd_kafka_error_is_fatal(error) != 0)
    }
}
