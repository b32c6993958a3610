/// An unevaluated sum `hi + lo` of two doubles (~106 bits of precision).
///
/// Window aggregates add a bucket's sums when the bucket enters a window and subtract the
/// very same doubles when it leaves. In plain `Double` that leaves rounding residue behind
/// (a 1e9 USD trade leaving a window that now holds 1 USD of trades would leave ~1e-7 of
/// noise); in double-double the residue is ~2^-106 of the largest value ever held.
@frozen
public struct DoubleDouble: Sendable, Hashable {
    public var hi: Double
    public var lo: Double

    public static let zero = DoubleDouble(hi: 0, lo: 0)

    @inlinable @inline(__always)
    public init(hi: Double, lo: Double) {
        self.hi = hi
        self.lo = lo
    }

    @inlinable @inline(__always)
    public init(_ value: Double) {
        self.hi = value
        self.lo = 0
    }

    /// The nearest double.
    @inlinable @inline(__always)
    public var value: Double { hi + lo }

    /// Exact sum of two doubles as a double-double (Knuth's TwoSum).
    @inlinable @inline(__always)
    public static func twoSum(_ a: Double, _ b: Double) -> DoubleDouble {
        let s = a + b
        let bb = s - a
        let e = (a - (s - bb)) + (b - bb)
        return DoubleDouble(hi: s, lo: e)
    }

    /// Exact product of two doubles as a double-double (fused multiply-add).
    @inlinable @inline(__always)
    public static func twoProduct(_ a: Double, _ b: Double) -> DoubleDouble {
        let p = a * b
        let e = (-p).addingProduct(a, b)
        return DoubleDouble(hi: p, lo: e)
    }

    /// Accurate double-double addition (stays accurate under cancellation).
    @inlinable @inline(__always)
    public static func + (a: DoubleDouble, b: DoubleDouble) -> DoubleDouble {
        let s = twoSum(a.hi, b.hi)
        let t = twoSum(a.lo, b.lo)
        let u = fastTwoSum(s.hi, s.lo + t.hi)
        return fastTwoSum(u.hi, u.lo + t.lo)
    }

    /// `a + b` exactly, when |a| >= |b| or a is 0.
    @inlinable @inline(__always)
    public static func fastTwoSum(_ a: Double, _ b: Double) -> DoubleDouble {
        let s = a + b
        return DoubleDouble(hi: s, lo: b - (s - a))
    }

    @inlinable @inline(__always)
    public static prefix func - (a: DoubleDouble) -> DoubleDouble {
        DoubleDouble(hi: -a.hi, lo: -a.lo)
    }

    @inlinable @inline(__always)
    public static func - (a: DoubleDouble, b: DoubleDouble) -> DoubleDouble { a + (-b) }

    @inlinable @inline(__always)
    public static func += (a: inout DoubleDouble, b: DoubleDouble) { a = a + b }

    @inlinable @inline(__always)
    public static func -= (a: inout DoubleDouble, b: DoubleDouble) { a = a - b }

    @inlinable @inline(__always)
    public static func * (a: DoubleDouble, b: DoubleDouble) -> DoubleDouble {
        var p = twoProduct(a.hi, b.hi)
        p.lo += a.hi * b.lo + a.lo * b.hi
        return twoSum(p.hi, p.lo)
    }

    @inlinable @inline(__always)
    public static func / (a: DoubleDouble, b: Double) -> DoubleDouble {
        let q1 = a.hi / b
        let r = a - twoProduct(q1, b)
        let q2 = r.hi / b
        return twoSum(q1, q2)
    }
}
