// Several tensors' buffers in one closure, instead of one `withUnsafe…BufferPointer` closure
// nested inside another per tensor.

/// What `Tensor.withUnsafeBufferPointers` accepts: a `Tensor` (its buffer) or a `Tensor?`
/// (an optional buffer, nil for nil). Package-only: the buffers escape the closure that
/// scopes them, so only `withUnsafeBufferPointers` calls these.
package protocol TensorBufferAccess {
    associatedtype ReadBuffer
    associatedtype WriteBuffer
    /// The values for reading; valid while the tensor is alive and unmutated.
    func unscopedReadBuffer() -> ReadBuffer
    /// The values for writing, after copy-on-write; valid while the tensor is alive and not
    /// otherwise mutated.
    mutating func unscopedWriteBuffer() -> WriteBuffer
}

extension Tensor: TensorBufferAccess {
    package func unscopedReadBuffer() -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: storage.pointer, count: count)
    }
    package mutating func unscopedWriteBuffer() -> UnsafeMutableBufferPointer<Float> { uniqueBuffer() }
}

extension Optional: TensorBufferAccess where Wrapped == Tensor {
    package func unscopedReadBuffer() -> UnsafeBufferPointer<Float>? { self?.unscopedReadBuffer() }
    package mutating func unscopedWriteBuffer() -> UnsafeMutableBufferPointer<Float>? { self?.unscopedWriteBuffer() }
}

extension Tensor {
    /// Read buffers for any number of input tensors and write buffers for up to four outputs,
    /// in one closure: `body` gets the outputs' buffers first, then the inputs', in argument
    /// order. An output is copied first if its storage is shared (copy-on-write, as
    /// `withUnsafeMutableBufferPointer`); a `Tensor?` argument gives an optional buffer. The
    /// buffers are valid only inside `body`. Copy-on-write and exclusive access to `inout`
    /// arguments keep each write buffer apart from every other buffer.
    ///
    ///     Tensor.withUnsafeBufferPointers(writing: &y, &normalized, reading: x, residual) { ys, hs, xs, es in … }
    package static func withUnsafeBufferPointers<each Input: TensorBufferAccess, R>(
        reading inputs: repeat each Input,
        body: (repeat (each Input).ReadBuffer) throws -> R
    ) rethrows -> R {
        try withExtendedLifetime((repeat each inputs)) {
            try body(repeat (each inputs).unscopedReadBuffer())
        }
    }

    /// One output, then the inputs (see above).
    package static func withUnsafeBufferPointers<A: TensorBufferAccess, each Input: TensorBufferAccess, R>(
        writing a: inout A, reading inputs: repeat each Input,
        body: (A.WriteBuffer, repeat (each Input).ReadBuffer) throws -> R
    ) rethrows -> R {
        let aw = a.unscopedWriteBuffer()
        return try withExtendedLifetime((repeat each inputs)) {
            try body(aw, repeat (each inputs).unscopedReadBuffer())
        }
    }

    /// Two outputs, then the inputs (see above).
    package static func withUnsafeBufferPointers<A: TensorBufferAccess, B: TensorBufferAccess,
                                                 each Input: TensorBufferAccess, R>(
        writing a: inout A, _ b: inout B, reading inputs: repeat each Input,
        body: (A.WriteBuffer, B.WriteBuffer, repeat (each Input).ReadBuffer) throws -> R
    ) rethrows -> R {
        let aw = a.unscopedWriteBuffer(), bw = b.unscopedWriteBuffer()
        return try withExtendedLifetime((repeat each inputs)) {
            try body(aw, bw, repeat (each inputs).unscopedReadBuffer())
        }
    }

    /// Three outputs, then the inputs (see above).
    package static func withUnsafeBufferPointers<A: TensorBufferAccess, B: TensorBufferAccess, C: TensorBufferAccess,
                                                 each Input: TensorBufferAccess, R>(
        writing a: inout A, _ b: inout B, _ c: inout C, reading inputs: repeat each Input,
        body: (A.WriteBuffer, B.WriteBuffer, C.WriteBuffer, repeat (each Input).ReadBuffer) throws -> R
    ) rethrows -> R {
        let aw = a.unscopedWriteBuffer(), bw = b.unscopedWriteBuffer(), cw = c.unscopedWriteBuffer()
        return try withExtendedLifetime((repeat each inputs)) {
            try body(aw, bw, cw, repeat (each inputs).unscopedReadBuffer())
        }
    }

    /// Four outputs, then the inputs (see above).
    package static func withUnsafeBufferPointers<A: TensorBufferAccess, B: TensorBufferAccess, C: TensorBufferAccess,
                                                 D: TensorBufferAccess, each Input: TensorBufferAccess, R>(
        writing a: inout A, _ b: inout B, _ c: inout C, _ d: inout D, reading inputs: repeat each Input,
        body: (A.WriteBuffer, B.WriteBuffer, C.WriteBuffer, D.WriteBuffer, repeat (each Input).ReadBuffer) throws -> R
    ) rethrows -> R {
        let aw = a.unscopedWriteBuffer(), bw = b.unscopedWriteBuffer(), cw = c.unscopedWriteBuffer()
        let dw = d.unscopedWriteBuffer()
        return try withExtendedLifetime((repeat each inputs)) {
            try body(aw, bw, cw, dw, repeat (each inputs).unscopedReadBuffer())
        }
    }
}
