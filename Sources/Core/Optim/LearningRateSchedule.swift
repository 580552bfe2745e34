#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The learning rate as a function of the number of updates already taken (`step` = 0 for the first
/// update), like a PyTorch scheduler stepped once per iteration.
public enum LearningRateSchedule: Sendable, Equatable {
    /// The same rate at every step (the autoencoder phase: Adam 1e-3, lr_decay = 1).
    case constant(Float)
    /// lr₀·(final/lr₀)^(t/steps): a constant factor per step, reaching `final` at t = steps and held
    /// there afterwards. The reference's "×10^(−1/500000) per iteration" from 0.01 over 500 000
    /// iterations is `.exponential(initial: 0.01, final: 0.001, steps: 500_000)`.
    case exponential(initial: Float, final: Float, steps: Int)
    /// lr₀·γ^k where k is the number of milestones ≤ t (PyTorch's MultiStepLR).
    case stepDecay(initial: Float, gamma: Float, milestones: [Int])

    /// The rate for the update that follows `step` completed updates. Computed in Double so a long
    /// exponential schedule does not accumulate Float rounding.
    public func rate(atStep step: Int) -> Float {
        switch self {
        case .constant(let lr):
            return lr
        case .exponential(let initial, let final, let steps):
            guard steps > 0 else { return final }
            let t = Double(min(max(step, 0), steps)) / Double(steps)
            return Float(Double(initial) * pow(Double(final) / Double(initial), t))
        case .stepDecay(let initial, let gamma, let milestones):
            let passed = milestones.reduce(0) { $0 + ($1 <= step ? 1 : 0) }
            return Float(Double(initial) * pow(Double(gamma), Double(passed)))
        }
    }

    /// Parses the command-line form: `constant:LR`, `exp:LR0:FINAL:STEPS`, `step:LR0:GAMMA:M1,M2,...`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func number(_ s: String, _ what: String) throws -> Float {
            guard let x = Float(s), x.isFinite, x > 0 else {
                throw ScheduleParseError(text: text, reason: "\(what) '\(s)' is not a positive number")
            }
            return x
        }
        func count(_ s: String, _ what: String) throws -> Int {
            guard let n = Int(s), n > 0 else {
                throw ScheduleParseError(text: text, reason: "\(what) '\(s)' is not a positive integer")
            }
            return n
        }
        switch (parts.first ?? "", parts.count) {
        case ("constant", 2):
            self = .constant(try number(parts[1], "learning rate"))
        case ("exp", 4):
            self = .exponential(initial: try number(parts[1], "initial rate"), final: try number(parts[2], "final rate"),
                                steps: try count(parts[3], "step count"))
        case ("step", 4):
            let milestones = try parts[3].split(separator: ",").map { try count(String($0), "milestone") }
            guard milestones == milestones.sorted() else {
                throw ScheduleParseError(text: text, reason: "milestones must be increasing")
            }
            self = .stepDecay(initial: try number(parts[1], "initial rate"), gamma: try number(parts[2], "gamma"),
                              milestones: milestones)
        default:
            throw ScheduleParseError(text: text, reason: "unknown form")
        }
    }
}

extension LearningRateSchedule: CustomStringConvertible {
    /// The command-line form, which `init(parsing:)` reads back (for logs and checkpoint metadata).
    public var description: String {
        switch self {
        case .constant(let lr): return "constant:\(lr)"
        case .exponential(let initial, let final, let steps): return "exp:\(initial):\(final):\(steps)"
        case .stepDecay(let initial, let gamma, let milestones):
            return "step:\(initial):\(gamma):" + milestones.map(String.init).joined(separator: ",")
        }
    }
}

public struct ScheduleParseError: Error, CustomStringConvertible {
    public let text: String
    public let reason: String
    public var description: String {
        "learning-rate schedule '\(text)': \(reason); use constant:LR, exp:LR0:FINAL:STEPS or step:LR0:GAMMA:M1,M2,..."
    }
}
