extension Autoencoder {
    /// Forward and backward of the data terms on one (local) batch: ACCUMULATES the gradient of
    /// the batch-mean objective into the store's gradient buffer and returns the terms. The penalty
    /// is separate (`accumulatePenalty`) because it depends on the weights only.
    ///
    /// `x` is the pair (t, t+1), `y` the pair (t+2, t+3) (needed by the reference objective only).
    /// Order of passes as the reference's criterion: E(X), E(Y), Φ, D(Φ(z_X)), D(z_X), so BatchNorm's
    /// running statistics see the same sequence of batches.
    /// `latentWeightFactor` scales the configured λ (a warm-up, `TrainerSettings.latentWarmupSteps`).
    public func accumulateDataGradients(x: Tensor, y: Tensor?, latentWeightFactor: Float = 1) -> LossTerms {
        var terms = LossTerms()
        switch config.objective {
        case .reconstruction:
            let (zx, encTape) = encoder.forward(x, mode: .train)
            let (rx, decTape) = decoder.forward(zx, mode: .train)
            let (recon, dRx) = trainingLoss(rx, x)
            terms.reconstruction = Double(recon)
            let dz = decoder.backward(dRx, tape: decTape)
            encoder.backward(dz, tape: encTape)

        case .reference:
            guard let y, let vpnet else { preconditionFailure("the reference objective needs the target pair and VPNet") }
            let lam = config.latentWeight * latentWeightFactor
            let (zx, encX) = encoder.forward(x, mode: .train)
            let (zy, encY) = encoder.forward(y, mode: .train)
            let (zhat, vpTape) = vpnet.forward(zx)
            let (ry, decY) = decoder.forward(zhat, mode: .train)
            let (rx, decX) = decoder.forward(zx, mode: .train)

            let (latent, dZhatLatent) = trainingLoss(zhat, zy, weight: 2 * lam)
            let (prediction, dRy) = trainingLoss(ry, y, weight: lam)
            let (recon, dRx) = trainingLoss(rx, x)
            terms.reconstruction = Double(recon)
            terms.latent = Double(latent)
            terms.prediction = Double(prediction)

            // No stop-gradient (as the reference): z_Y is a moving target and receives −∂/∂ẑ.
            let dZy = Tensor(uninitialized: zy.shape)
            for i in 0..<dZy.count { dZy.data[i] = -dZhatLatent.data[i] }
            // Each network's two passes go back together (`ConvPass`: the deterministic mode folds a
            // unit's passes once); every parameter still sums them in the order Y, then X.
            let decoded = decoder.backward([(dRy, decY), (dRx, decX)])
            let dZhat = decoded[0], dZx = decoded[1]
            for i in 0..<dZhat.count { dZhat.data[i] += dZhatLatent.data[i] }
            let dZxFromVP = vpnet.backward(dZhat, cache: vpTape)
            for i in 0..<dZx.count { dZx.data[i] += dZxFromVP.data[i] }
            encoder.backward([(dZy, encY), (dZx, encX)])
        }
        return terms
    }

    /// A training loss term: the replica's batch mean, or in the deterministic mode the global batch
    /// mean summed exactly (already the same on every replica, so the trainer does not average it).
    private func trainingLoss(_ pred: Tensor, _ target: Tensor, weight: Float = 1) -> (value: Float, gradient: Tensor) {
        store.exact == nil ? mseLoss(pred, target, weight: weight, threads: computeBudget.threads)
                            : mseLoss(pred, target, weight: weight, exactOver: reducer, threads: computeBudget.threads)
    }

    /// The objective's data terms without touching gradients or running statistics (eval mode),
    /// for validation: the reference's validation criterion drops the ×2 on the latent term.
    public func evaluate(x: Tensor, y: Tensor?) -> LossTerms {
        var terms = LossTerms()
        let zx = encode(x)
        terms.reconstruction = Double(mseLoss(decode(zx), x).value)
        if config.objective == .reference, let y, let zhat = advance(zx) {
            let zy = encode(y)
            terms.latent = Double(mseLoss(zhat, zy, weight: config.latentWeight).value)
            terms.prediction = Double(mseLoss(decode(zhat), y, weight: config.latentWeight).value)
        }
        return terms
    }
}
