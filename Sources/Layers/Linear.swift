import TensorCore

/// y = x · Wᵀ + b over the last axis: (…, in) → (…, out). W is stored [out, in] as in
/// PyTorch; xavier-uniform weight, zero bias (MODELS.md).
public final class Linear: SequenceLayer {
    public let arena: ParameterArena
    public let weight: Parameter
    public let bias: Parameter?
    public let inputSize: Int
    public let outputSize: Int
    var input = Tensor.empty

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
        input = x
        let rows = x.count / inputSize
        var y = Tensor(uninitialized: Array(x.shape.dropLast()) + [outputSize])
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
        let rows = input.count / inputSize
        precondition(dy.count == rows * outputSize, "Linear.backward: gradient \(dy.shape) for input \(input.shape)")
        var dx = Tensor(uninitialized: input.shape)
        dy.withUnsafeBufferPointer { dys in
            input.withUnsafeBufferPointer { xs in
                // dW += dyᵀ · x
                gemm(.transposed, .none, m: outputSize, n: inputSize, k: rows,
                     a: dys.baseAddress!, lda: outputSize, b: xs.baseAddress!, ldb: inputSize,
                     beta: 1, c: arena.gradient(weight), ldc: inputSize)
            }
            if let bias, !biasGradientDone {
                Kernels.addColumnSums(dys, rows: rows, cols: outputSize,
                                      into: UnsafeMutableBufferPointer(start: arena.gradient(bias), count: outputSize))
            }
            dx.withUnsafeMutableBufferPointer { dxs in
                // dx = dy · W
                gemm(.none, .none, m: rows, n: inputSize, k: outputSize,
                     a: dys.baseAddress!, lda: outputSize, b: arena.value(weight), ldb: inputSize,
                     beta: 0, c: dxs.baseAddress!, ldc: inputSize)
            }
        }
        input = Tensor.empty
        return dx
    }
}
