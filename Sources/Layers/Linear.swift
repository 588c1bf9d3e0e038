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
            (input, inputBF16, weightBF16) = (Tensor.empty, x16, w16)
            return y
        }
        (input, inputBF16, weightBF16) = (x, nil, nil)
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
        var dx = Tensor(uninitialized: inputShape)
        // dW += dyᵀ · x;  dx = dy · W
        if let x16 = inputBF16, let w16 = weightBF16 {
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
            dy.withUnsafeBufferPointer { dys in
                input.withUnsafeBufferPointer { xs in
                    gemm(.transposed, .none, m: outputSize, n: inputSize, k: rows,
                         a: dys.baseAddress!, lda: outputSize, b: xs.baseAddress!, ldb: inputSize,
                         beta: 1, c: arena.gradient(weight), ldc: inputSize)
                }
                dx.withUnsafeMutableBufferPointer { dxs in
                    gemm(.none, .none, m: rows, n: inputSize, k: outputSize,
                         a: dys.baseAddress!, lda: outputSize, b: arena.value(weight), ldb: inputSize,
                         beta: 0, c: dxs.baseAddress!, ldc: inputSize)
                }
            }
        }
        if let bias, !biasGradientDone {
            dy.withUnsafeBufferPointer { dys in
                Kernels.addColumnSums(dys, rows: rows, cols: outputSize,
                                      into: UnsafeMutableBufferPointer(start: arena.gradient(bias), count: outputSize))
            }
        }
        (input, inputBF16, weightBF16) = (Tensor.empty, nil, nil)
        return dx
    }
}
