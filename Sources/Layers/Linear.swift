import Parameters
import TensorCore

/// y = x · Wᵀ + b over the last axis: (…, in) → (…, out). W is stored [out, in] as in
/// PyTorch; xavier-uniform weight, zero bias (docs/models.md).
public final class Linear: SequenceLayer {
    public let arena: ParameterArena
    public let weight: Parameter
    public let bias: Parameter?
    public let inputSize: Int
    public let outputSize: Int
    var input = Tensor.empty
    /// Under bf16 products: the input's and the weight's bf16 copies, made once in forward and
    /// used again by backward (then `input` holds no values, only the shape).
    var inputBF16: BF16Matrix?
    var weightBF16: BF16Matrix?
    var inputShape: [Int] = []
    /// `releaseInput` dropped `input`: backward goes through `inputGradient` and `addParameterGradients`.
    package private(set) var inputReleased = false

    public init(_ name: String, arena: ParameterArena, inputSize: Int, outputSize: Int, bias: Bool = true) {
        self.arena = arena
        self.inputSize = inputSize
        self.outputSize = outputSize
        weight = arena.register("\(name).weight", shape: [outputSize, inputSize],
                                initializer: .xavierUniform(fanIn: inputSize, fanOut: outputSize), weightDecay: true)
        self.bias = bias ? arena.register("\(name).bias", shape: [outputSize], initializer: .zeros, weightDecay: false) : nil
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        var y = product(x)
        if let bias {
            y.withUnsafeMutableBufferPointer { ys in
                Kernels.addRowVector(UnsafeBufferPointer(start: arena.value(bias), count: outputSize),
                                     to: ys, rows: x.count / inputSize, cols: outputSize)
            }
        }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        backward(dy, biasGradientDone: false)
    }

    /// x · Wᵀ without the bias, for a caller that fuses the bias add into its own next pass
    /// (`MLP`: bias + GELU); the input is kept for backward like `forward`'s.
    package func product(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == inputSize, "Linear: input \(x.shape) does not end in \(inputSize)")
        inputShape = x.shape
        let rows = x.count / inputSize
        var y = Tensor(uninitialized: Array(x.shape.dropLast()) + [outputSize])
        let bf16 = x.withUnsafeBufferPointer { xs in
            Matmul.bf16Chosen(.none, .transposed, m: rows, n: outputSize, k: inputSize, a: xs.baseAddress!, lda: inputSize,
                              b: arena.value(weight), ldb: inputSize)
        }
        if bf16 {
            let x16 = BF16Matrix(x, rows: rows, columns: inputSize)
            let w16 = BF16Matrix(arena.value(weight), rows: outputSize, columns: inputSize)
            y.withUnsafeMutableBufferPointer { ys in
                x16.withUnsafePointer { xs in
                    w16.withUnsafePointer { ws in
                        gemmBF16(.none, .transposed, m: rows, n: outputSize, k: inputSize, a: xs, lda: inputSize,
                                 b: ws, ldb: inputSize, beta: 0, c: ys.baseAddress!, ldc: outputSize)
                    }
                }
            }
            (input, inputBF16, weightBF16, inputReleased) = (Tensor.empty, x16, w16, false)
            return y
        }
        (input, inputBF16, weightBF16, inputReleased) = (x, nil, nil, false)
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeMutableBufferPointer { ys in
                gemm(.none, .transposed, m: rows, n: outputSize, k: inputSize,
                     a: xs.baseAddress!, lda: inputSize, b: arena.value(weight), ldb: inputSize,
                     beta: 0, c: ys.baseAddress!, ldc: outputSize)
            }
        }
        return y
    }

    /// Backward; `biasGradientDone`: the caller already added dy's column sums into the bias
    /// gradient in its own pass over dy.
    package func backward(_ dy: Tensor, biasGradientDone: Bool) -> Tensor {
        let rows = inputShape.reduce(1, *) / inputSize
        precondition(dy.count == rows * outputSize, "Linear.backward: gradient \(dy.shape) for input \(inputShape)")
        // dW += dyᵀ · x;  dx = dy · W
        var dx: Tensor
        if let x16 = inputBF16, let w16 = weightBF16 {
            dx = Tensor(uninitialized: inputShape)
            let dy16 = BF16Matrix(dy, rows: rows, columns: outputSize)
            dy16.withUnsafePointer { dys in
                x16.withUnsafePointer { xs in
                    gemmBF16(.transposed, .none, m: outputSize, n: inputSize, k: rows, a: dys, lda: outputSize,
                             b: xs, ldb: inputSize, beta: 1, c: arena.gradient(weight), ldc: inputSize)
                }
                dx.withUnsafeMutableBufferPointer { dxs in
                    w16.withUnsafePointer { ws in
                        gemmBF16(.none, .none, m: rows, n: inputSize, k: outputSize, a: dys, lda: outputSize,
                                 b: ws, ldb: inputSize, beta: 0, c: dxs.baseAddress!, ldc: inputSize)
                    }
                }
            }
        } else {
            precondition(!inputReleased, "Linear.backward: the input was released; use inputGradient and addParameterGradients")
            dx = inputGradient(dy)
            addWeightGradient(dy, input: input, rows: rows)
        }
        if let bias, !biasGradientDone { addBiasGradient(dy, bias: bias, rows: rows) }
        (input, inputBF16, weightBF16) = (Tensor.empty, nil, nil)
        return dx
    }

    // MARK: - Backward without the kept input (recomputed by the caller)

    /// Drops the fp32 input forward kept for the weight gradient, for a caller that can recompute
    /// it at backward time (`MLP`: GELU of the kept pre-activation); `inputReleased` says whether
    /// it did — not after a bf16 product, whose half-size bf16 copy stays.
    package func releaseInput() {
        guard inputBF16 == nil else { return }
        input = Tensor.empty
        inputReleased = true
    }

    /// dx = dy · W (fp32 products), the half of backward that needs no input.
    package func inputGradient(_ dy: Tensor) -> Tensor {
        let rows = inputShape.reduce(1, *) / inputSize
        precondition(dy.count == rows * outputSize, "Linear.inputGradient: gradient \(dy.shape) for input \(inputShape)")
        var dx = Tensor(uninitialized: inputShape)
        dy.withUnsafeBufferPointer { dys in
            dx.withUnsafeMutableBufferPointer { dxs in
                gemm(.none, .none, m: rows, n: inputSize, k: outputSize,
                     a: dys.baseAddress!, lda: outputSize, b: arena.value(weight), ldb: inputSize,
                     beta: 0, c: dxs.baseAddress!, ldc: inputSize)
            }
        }
        return dx
    }

    /// dW += dyᵀ · x and db += Σ_rows dy with the input x handed back after `releaseInput`;
    /// ends this layer's backward.
    package func addParameterGradients(_ dy: Tensor, input x: Tensor) {
        let rows = inputShape.reduce(1, *) / inputSize
        precondition(inputReleased && x.count == rows * inputSize && dy.count == rows * outputSize,
                     "Linear.addParameterGradients: input \(x.shape) and gradient \(dy.shape) for input \(inputShape)")
        addWeightGradient(dy, input: x, rows: rows)
        if let bias { addBiasGradient(dy, bias: bias, rows: rows) }
        (input, inputBF16, weightBF16, inputReleased) = (Tensor.empty, nil, nil, false)
    }

    func addWeightGradient(_ dy: Tensor, input x: Tensor, rows: Int) {
        dy.withUnsafeBufferPointer { dys in
            x.withUnsafeBufferPointer { xs in
                gemm(.transposed, .none, m: outputSize, n: inputSize, k: rows,
                     a: dys.baseAddress!, lda: outputSize, b: xs.baseAddress!, ldb: inputSize,
                     beta: 1, c: arena.gradient(weight), ldc: inputSize)
            }
        }
    }

    func addBiasGradient(_ dy: Tensor, bias: Parameter, rows: Int) {
        dy.withUnsafeBufferPointer { dys in
            Kernels.addColumnSums(dys, rows: rows, cols: outputSize,
                                  into: UnsafeMutableBufferPointer(start: arena.gradient(bias), count: outputSize))
        }
    }
}
