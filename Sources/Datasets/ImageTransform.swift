import Foundation
import TensorCore

/// Turns a decoded image into a normalised (size, size, 3) Float32 tensor, the way
/// torchvision's standard ImageNet pipelines do.
///
/// - Training (`randomResizedCrop`): torchvision's `RandomResizedCrop(size, scale, ratio)` —
///   up to 10 tries of an area fraction ~ U(scale) and a log-uniform aspect ratio in `ratio`,
///   falling back to the largest centred crop within `ratio` — then a horizontal flip with
///   probability ½ (`RandomHorizontalFlip`).
/// - Evaluation (`resizeCenterCrop`): `Resize(resize)` (shorter side to `resize`) then
///   `CenterCrop(size)`.
///
/// Resampling is bilinear with half-pixel centres (no antialiasing filter when shrinking).
/// Values are `(pixel / 255 − mean[c]) / std[c]`. Gray images are replicated to 3 channels.
public struct ImageTransform: Sendable, Equatable {
    /// Training or evaluation geometry.
    public enum Mode: Sendable, Equatable {
        /// A random crop of area fraction in `scale` and aspect ratio in `ratio`, then an optional flip.
        case randomResizedCrop(scale: ClosedRange<Double>, ratio: ClosedRange<Double>, horizontalFlip: Bool)
        /// Shorter side to `resize`, then the central `size × size`.
        case resizeCenterCrop(resize: Int)
    }

    /// The geometry applied.
    public var mode: Mode
    /// Output height and width.
    public var size: Int
    /// Per-channel mean and standard deviation (R, G, B) on the 0…1 scale.
    public var mean: [Float]
    public var standardDeviation: [Float]

    /// ImageNet's statistics, torchvision's defaults.
    public static let imageNetMean: [Float] = [0.485, 0.456, 0.406]
    public static let imageNetStandardDeviation: [Float] = [0.229, 0.224, 0.225]

    public init(mode: Mode, size: Int, mean: [Float] = imageNetMean, standardDeviation: [Float] = imageNetStandardDeviation) {
        precondition(size >= 1, "ImageTransform: size must be positive")
        precondition(mean.count == 3 && standardDeviation.count == 3 && standardDeviation.allSatisfy { $0 > 0 },
                     "ImageTransform: need 3 means and 3 positive standard deviations")
        self.mode = mode
        self.size = size
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// The training transform: random-resized crop with scale (0.08, 1), ratio (3/4, 4/3), and flips.
    public static func training(size: Int = 224, mean: [Float] = imageNetMean,
                                standardDeviation: [Float] = imageNetStandardDeviation) -> ImageTransform {
        ImageTransform(mode: .randomResizedCrop(scale: 0.08...1, ratio: (3.0 / 4)...(4.0 / 3), horizontalFlip: true),
                       size: size, mean: mean, standardDeviation: standardDeviation)
    }

    /// The evaluation transform: shorter side to `resize` (default size · 8/7, i.e. 256 for 224), centre crop.
    public static func evaluation(size: Int = 224, resize: Int? = nil, mean: [Float] = imageNetMean,
                                  standardDeviation: [Float] = imageNetStandardDeviation) -> ImageTransform {
        ImageTransform(mode: .resizeCenterCrop(resize: resize ?? Int((Double(size) * 8 / 7).rounded())),
                       size: size, mean: mean, standardDeviation: standardDeviation)
    }

    /// A source region and how output pixels map into it.
    struct Sampling: Equatable {
        /// Source coordinate of output pixel y is `top + (y + 0.5) · stepY − 0.5` (likewise x).
        var top: Double, left: Double, stepY: Double, stepX: Double
        /// Samples are clamped to these source rows and columns.
        var rows: ClosedRange<Int>, columns: ClosedRange<Int>
        var flip: Bool
    }

    /// Applies the transform; `random` drives the crop and flip (unused for evaluation).
    public func apply(_ image: RasterImage, random: inout RandomStream) -> Tensor {
        resample(image, sampling(width: image.width, height: image.height, random: &random))
    }

    func sampling(width: Int, height: Int, random: inout RandomStream) -> Sampling {
        switch mode {
        case .resizeCenterCrop(let resize):
            let (resizedHeight, resizedWidth) = width <= height
                ? (Int(Double(resize) * Double(height) / Double(width)), resize)
                : (resize, Int(Double(resize) * Double(width) / Double(height)))
            let stepY = Double(height) / Double(resizedHeight), stepX = Double(width) / Double(resizedWidth)
            let cropTop = Int((Double(resizedHeight - size) / 2).rounded()), cropLeft = Int((Double(resizedWidth - size) / 2).rounded())
            return Sampling(top: Double(cropTop) * stepY, left: Double(cropLeft) * stepX, stepY: stepY, stepX: stepX,
                            rows: 0...(height - 1), columns: 0...(width - 1), flip: false)
        case .randomResizedCrop(let scale, let ratio, let horizontalFlip):
            let (top, left, cropHeight, cropWidth) = Self.randomCrop(width: width, height: height, scale: scale, ratio: ratio, random: &random)
            let flip = horizontalFlip && random.uniform() < 0.5
            return Sampling(top: Double(top), left: Double(left),
                            stepY: Double(cropHeight) / Double(size), stepX: Double(cropWidth) / Double(size),
                            rows: top...(top + cropHeight - 1), columns: left...(left + cropWidth - 1), flip: flip)
        }
    }

    /// torchvision's `RandomResizedCrop.get_params`: (top, left, height, width).
    static func randomCrop(width: Int, height: Int, scale: ClosedRange<Double>, ratio: ClosedRange<Double>,
                           random: inout RandomStream) -> (Int, Int, Int, Int) {
        let area = Double(width * height)
        let logRatio = log(ratio.lowerBound)...log(ratio.upperBound)
        for _ in 0..<10 {
            let targetArea = area * (scale.lowerBound + (scale.upperBound - scale.lowerBound) * Double(random.uniform()))
            let aspect = exp(logRatio.lowerBound + (logRatio.upperBound - logRatio.lowerBound) * Double(random.uniform()))
            let cropWidth = Int((targetArea * aspect).squareRoot().rounded())
            let cropHeight = Int((targetArea / aspect).squareRoot().rounded())
            if cropWidth > 0 && cropWidth <= width && cropHeight > 0 && cropHeight <= height {
                let top = random.integer(below: height - cropHeight + 1)
                let left = random.integer(below: width - cropWidth + 1)
                return (top, left, cropHeight, cropWidth)
            }
        }
        let inputRatio = Double(width) / Double(height)
        var cropWidth = width, cropHeight = height
        if inputRatio < ratio.lowerBound {
            cropHeight = max(1, Int((Double(width) / ratio.lowerBound).rounded()))
        } else if inputRatio > ratio.upperBound {
            cropWidth = max(1, Int((Double(height) * ratio.upperBound).rounded()))
        }
        return ((height - cropHeight) / 2, (width - cropWidth) / 2, cropHeight, cropWidth)
    }

    /// Bilinear resampling of `image` through `sampling`, then normalisation, into (size, size, 3).
    func resample(_ image: RasterImage, _ sampling: Sampling) -> Tensor {
        let size = self.size, channels = image.channels, width = image.width
        var output = Tensor(zeros: [size, size, 3])
        let scale = (0..<3).map { 1 / (255 * standardDeviation[$0]) }
        let shift = (0..<3).map { -mean[$0] / standardDeviation[$0] }
        // Per output column: the two source columns and the weight of the right one.
        let columnTaps: [(Int, Int, Float)] = (0..<size).map { x in
            let column = sampling.flip ? size - 1 - x : x
            return Self.taps(sampling.left + (Double(column) + 0.5) * sampling.stepX - 0.5, within: sampling.columns)
        }
        output.withUnsafeMutableBufferPointer { destination in
            image.pixels.withUnsafeBufferPointer { source in
                for y in 0..<size {
                    let (row0, row1, weightY) = Self.taps(sampling.top + (Double(y) + 0.5) * sampling.stepY - 0.5, within: sampling.rows)
                    for x in 0..<size {
                        let (column0, column1, weightX) = columnTaps[x]
                        for channel in 0..<3 {
                            let c = channels == 1 ? 0 : channel
                            let topLeft = Float(source[(row0 * width + column0) * channels + c])
                            let topRight = Float(source[(row0 * width + column1) * channels + c])
                            let bottomLeft = Float(source[(row1 * width + column0) * channels + c])
                            let bottomRight = Float(source[(row1 * width + column1) * channels + c])
                            let upper = topLeft + (topRight - topLeft) * weightX
                            let lower = bottomLeft + (bottomRight - bottomLeft) * weightX
                            let value = upper + (lower - upper) * weightY
                            destination[(y * size + x) * 3 + channel] = value * scale[channel] + shift[channel]
                        }
                    }
                }
            }
        }
        return output
    }

    /// The two neighbouring indices of a source coordinate (clamped to `range`) and the far one's weight.
    static func taps(_ coordinate: Double, within range: ClosedRange<Int>) -> (Int, Int, Float) {
        let clamped = min(max(coordinate, Double(range.lowerBound)), Double(range.upperBound))
        let first = Int(clamped.rounded(.down))
        let second = min(first + 1, range.upperBound)
        return (first, second, Float(clamped - Double(first)))
    }
}
