internal import CRdKafka
import Logging
import Synchronization

/// What a handle's C callbacks reach through librdkafka's opaque pointer.
final class CallbackContext: Sendable {
    let logger: Logger
    /// Rebalance decisions, for consumers (called on the thread that polls).
    let rebalance: (any KafkaRebalanceHandler)?
    /// Delivery reports that failed (producers).
    let failedDeliveries = Atomic<Int>(0)
    let deliveries = Atomic<Int>(0)

    init(logger: Logger, rebalance: (any KafkaRebalanceHandler)?) {
        self.logger = logger
        self.rebalance = rebalance
    }
}

/// Owns one `rd_kafka_t` and the context its callbacks use.
///
/// `@unchecked Sendable` is sound: a librdkafka handle is thread-safe, and the pointer never
/// leaves this class except through ``withPointer(_:)``.
final class RDKafkaHandle: @unchecked Sendable {
    private let pointer: OpaquePointer
    let context: CallbackContext
    private let context_: Unmanaged<CallbackContext>

    enum Kind { case producer, consumer }

    /// Creates the handle from `properties` (librdkafka names, e.g. `bootstrap.servers`).
    /// - Throws: ``KafkaError`` naming the property librdkafka refused.
    init(
        _ kind: Kind, properties: [String: String], logger: Logger,
        rebalance: (any KafkaRebalanceHandler)? = nil
    ) throws(KafkaError) {
        let context = CallbackContext(logger: logger, rebalance: rebalance)
        let conf = rd_kafka_conf_new()!
        var errstr = [CChar](repeating: 0, count: 512)
        for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, name, value, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(message: "property \(name)=\(value): \(text(of: errstr))")
            }
        }
        let unmanaged = Unmanaged.passRetained(context)
        rd_kafka_conf_set_opaque(conf, unmanaged.toOpaque())
        rd_kafka_conf_set_log_cb(conf, logCallback)
        rd_kafka_conf_set_error_cb(conf, errorCallback)
        switch kind {
        case .producer:
            rd_kafka_conf_set_dr_msg_cb(conf, deliveryCallback)
        case .consumer:
            if rebalance != nil { rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback) }
        }
        let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            unmanaged.release()
            throw KafkaError(message: "rd_kafka_new: \(text(of: errstr))")
        }
        pointer = rk
        self.context = context
        self.context_ = unmanaged
    }

    /// Lends the `rd_kafka_t`; do not let it escape `body`.
    func withPointer<R, E: Error>(_ body: (OpaquePointer) throws(E) -> R) throws(E) -> R {
        try body(pointer)
    }

    deinit {
        rd_kafka_destroy(pointer)
        context_.release()
    }
}

/// Checks one librdkafka property without creating a handle.
/// - Throws: ``KafkaError`` with librdkafka's reason when the name or value is refused.
public func validateKafkaProperty(_ name: String, _ value: String) throws(KafkaError) {
    let conf = rd_kafka_conf_new()!
    defer { rd_kafka_conf_destroy(conf) }
    var errstr = [CChar](repeating: 0, count: 512)
    guard rd_kafka_conf_set(conf, name, value, &errstr, errstr.count) == RD_KAFKA_CONF_OK else {
        throw KafkaError(message: text(of: errstr))
    }
}

private func context(of rk: OpaquePointer?) -> CallbackContext? {
    guard let rk, let raw = rd_kafka_opaque(rk) else { return nil }
    return Unmanaged<CallbackContext>.fromOpaque(raw).takeUnretainedValue()
}

/// Routes librdkafka's syslog-levelled log lines to swift-log.
private func logCallback(
    _ rk: OpaquePointer?, _ level: Int32, _ facility: UnsafePointer<CChar>?, _ text: UnsafePointer<CChar>?
) {
    guard let logger = context(of: rk)?.logger else { return }
    let swiftLevel: Logger.Level =
        switch level {
        case ...3: .error
        case 4: .warning
        case 5: .info
        default: .debug
        }
    logger.log(
        level: swiftLevel, "\(text.map { String(cString: $0) } ?? "")",
        metadata: ["kafka.facility": "\(facility.map { String(cString: $0) } ?? "")"])
}

private func errorCallback(
    _ rk: OpaquePointer?, _ code: Int32, _ reason: UnsafePointer<CChar>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let logger = context(of: rk)?.logger else { return }
    let err = rd_kafka_resp_err_t(rawValue: code)
    let fatal = err == RD_KAFKA_RESP_ERR__FATAL
    logger.log(
        level: fatal ? .critical : .warning, "kafka: \(reason.map { String(cString: $0) } ?? "")",
        metadata: ["kafka.error": "\(String(cString: rd_kafka_err2name(err)))"])
}

private func deliveryCallback(
    _ rk: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?, _ opaque: UnsafeMutableRawPointer?
) {
    guard let ctx = context(of: rk), let message else { return }
    ctx.deliveries.add(1, ordering: .relaxed)
    if message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
        let n = ctx.failedDeliveries.add(1, ordering: .relaxed).newValue
        if n == 1 || n % 10_000 == 0 {
            ctx.logger.error(
                "kafka delivery failed (\(n) so far): \(String(cString: rd_kafka_err2str(message.pointee.err)))")
        }
    }
}

/// The NUL-terminated text in an error buffer librdkafka filled.
private func text(of buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
