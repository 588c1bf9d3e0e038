/// The knobs of the Pathfinder generator, named after `snakes2.py`'s arguments, with LRA's
/// "hard" settings (contour length 14, the `curv_contour_length_14` split) for 32, 64, 128
/// and 256 pixels, as listed in LRA's `lra_benchmarks/data/pathfinder.py`.
public struct PathfinderSettings: Sendable, Equatable {
    /// Image side in pixels (`window_size`).
    public var size: Int
    /// Width of the border kept free of paddles (`padding`).
    public var padding: Int
    /// Paddle length in pixels (`paddle_length`).
    public var paddleLength: Int
    /// Stroke width in pixels (`paddle_thickness`).
    public var paddleThickness: Double
    /// Gap kept around paddles; one is drawn per image (`paddle_margin_list`).
    public var paddleMargins: [Int]
    /// Radius of the two circular markers (`marker_radius`).
    public var markerRadius: Double
    /// Paddles per target contour (`contour_length`).
    public var contourLength: Int
    /// Paddles per distractor (`distractor_length` = contour_length // 3).
    public var distractorLength: Int
    /// Distractor contours attempted per image (`num_distractor_snakes`).
    public var distractorCount: Int
    /// Distance between the two target contours' seeds (`seed_distance`).
    public var seedDistance: Int
    /// How straight contours are: turns are weighted by cos²(min(turn · continuity, π/2)).
    public var continuity: Double
    /// Intensities of whole contours (`snake_contrast_list`); distractors use these directly.
    public var snakeContrasts: [Double]
    /// Per-paddle intensity factors of the target contours (`paddle_contrast_list`).
    public var paddleContrasts: [Double]
    /// Tries per paddle before a contour fails (`max_paddle_retrial`).
    public var maxPaddleRetrial = 2
    /// Tries per distractor (`max_distractor_contour_retrial`).
    public var maxDistractorRetrial = 4

    public init(size: Int, padding: Int, paddleLength: Int, paddleThickness: Double, paddleMargins: [Int],
                markerRadius: Double, contourLength: Int = 14, distractorLength: Int = 14 / 3, distractorCount: Int,
                seedDistance: Int, continuity: Double, snakeContrasts: [Double], paddleContrasts: [Double] = [1]) {
        self.size = size
        self.padding = padding
        self.paddleLength = paddleLength
        self.paddleThickness = paddleThickness
        self.paddleMargins = paddleMargins
        self.markerRadius = markerRadius
        self.contourLength = contourLength
        self.distractorLength = distractorLength
        self.distractorCount = distractorCount
        self.seedDistance = seedDistance
        self.continuity = continuity
        self.snakeContrasts = snakeContrasts
        self.paddleContrasts = paddleContrasts
    }

    /// The sizes with LRA settings.
    public static let supportedSizes = [32, 64, 128, 256]

    /// LRA's hard settings for `size` (32, 64, 128 = Path-X, 256), or nil for other sizes.
    public static func hard(size: Int) -> PathfinderSettings? {
        switch size {
        case 32:
            return PathfinderSettings(size: 32, padding: 1, paddleLength: 2, paddleThickness: 0.5, paddleMargins: [1],
                                      markerRadius: 1.5, distractorCount: 20 / 4, seedDistance: 7, continuity: 1.0,
                                      snakeContrasts: [2], paddleContrasts: [0.75])
        case 64:
            return PathfinderSettings(size: 64, padding: 1, paddleLength: 5, paddleThickness: 1, paddleMargins: [1],
                                      markerRadius: 2.5, distractorCount: 22 / 4, seedDistance: 12, continuity: 1.8,
                                      snakeContrasts: [0.8])
        case 128:
            return PathfinderSettings(size: 128, padding: 1, paddleLength: 5, paddleThickness: 1.5, paddleMargins: [2, 3],
                                      markerRadius: 3, distractorCount: 35 / 4, seedDistance: 20, continuity: 1.8,
                                      snakeContrasts: [0.9])
        case 256:
            return PathfinderSettings(size: 256, padding: 22, paddleLength: 5, paddleThickness: 2, paddleMargins: [3],
                                      markerRadius: 5, distractorCount: 30 / 4, seedDistance: 27, continuity: 1.8,
                                      snakeContrasts: [1])
        default:
            return nil
        }
    }

    /// LRA's name for the split these settings make.
    public var splitName: String { "curv_contour_length_\(contourLength)" }
}
