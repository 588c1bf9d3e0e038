import Foundation

/// The naming schemes `parseval checkpoint seal` reads, and their translation to Parseval's names
/// and layouts (docs/checkpoints.md, "From PyTorch").
public enum WeightSource: String, Sendable, CaseIterable {
    /// Parseval's own names (docs/checkpoints.md).
    case parseval
    /// A classifier around `nn.TransformerEncoder(norm_first=True, batch_first=True,
    /// activation="gelu")` named `encoder`, with `embedding`, `position`, `norm` and `head` as in
    /// Parseval: `encoder.layers.L.self_attn.in_proj_weight` → `blocks.L.mixer.qkv.weight`, …
    case torchEncoder = "torch-encoder"
    /// timm's `VisionTransformer(class_token=False, global_pool="avg", fc_norm=False)`:
    /// `patch_embed.proj` (a convolution) → `patch_embedding`, `pos_embed` → `position`,
    /// `blocks.L.attn.qkv|proj` → `blocks.L.mixer.qkv|out`; LayerNorm ε 1e-6 (`model.norm_epsilon`).
    case timmViT = "timm-vit"

    /// Renames (and for timm's patch convolution, re-lays out) every tensor; names the scheme
    /// does not know pass through unchanged, so `seal`'s name check reports them.
    public func translate(_ entries: [SafeTensors.Entry]) throws -> [SafeTensors.Entry] {
        try entries.map { entry in
            var result = entry
            result.name = rename(entry.name)
            if self == .timmViT && entry.name == "patch_embed.proj.weight" { result = try channelsLast(result) }
            if self == .timmViT && entry.name == "pos_embed" && entry.shape.count == 3 && entry.shape[0] == 1 {
                result.shape = Array(entry.shape.dropFirst())
            }
            return result
        }
    }

    func rename(_ name: String) -> String {
        switch self {
        case .parseval:
            return name
        case .torchEncoder:
            guard name.hasPrefix("encoder.layers.") else { return name }
            let rest = name.dropFirst("encoder.layers.".count)
            guard let dot = rest.firstIndex(of: ".") else { return name }
            let layer = rest[..<dot], tail = String(rest[rest.index(after: dot)...])
            let mapped = [
                "self_attn.in_proj_weight": "mixer.qkv.weight", "self_attn.in_proj_bias": "mixer.qkv.bias",
                "self_attn.out_proj.weight": "mixer.out.weight", "self_attn.out_proj.bias": "mixer.out.bias",
                "linear1.weight": "mlp.fc1.weight", "linear1.bias": "mlp.fc1.bias",
                "linear2.weight": "mlp.fc2.weight", "linear2.bias": "mlp.fc2.bias",
            ][tail] ?? tail  // norm1.*, norm2.* keep their names
            return "blocks.\(layer).\(mapped)"
        case .timmViT:
            if name == "pos_embed" { return "position" }
            if name.hasPrefix("patch_embed.proj.") { return "patch_embedding." + name.dropFirst("patch_embed.proj.".count) }
            return name.replacingOccurrences(of: ".attn.qkv.", with: ".mixer.qkv.")
                .replacingOccurrences(of: ".attn.proj.", with: ".mixer.out.")
        }
    }

    /// A convolution weight (D, C, P, P) as Parseval's patch projection (D, P·P·C): each patch
    /// flattened in (row, column, channel) order.
    func channelsLast(_ entry: SafeTensors.Entry) throws -> SafeTensors.Entry {
        guard entry.shape.count == 4, entry.shape[2] == entry.shape[3] else {
            throw CheckpointError("\(entry.name): shape \(entry.shape), expected a square convolution (D, C, P, P)")
        }
        let (d, c, p) = (entry.shape[0], entry.shape[1], entry.shape[2])
        // A hostile shape with a zero in it holds no values yet may multiply past Int.max, or
        // make the loops below run for ever: the patch size is computed with checks, and an
        // empty tensor is not walked.
        let (area, areaOverflow) = p.multipliedReportingOverflow(by: p)
        let (patch, patchOverflow) = area.multipliedReportingOverflow(by: c)
        guard !areaOverflow, !patchOverflow else {
            throw CheckpointError("\(entry.name): shape \(entry.shape), expected a convolution whose patch size P·P·C fits in an Int")
        }
        guard !entry.values.isEmpty else { return SafeTensors.Entry(name: entry.name, shape: [d, patch], values: []) }
        var values = [Float](repeating: 0, count: entry.values.count)
        for o in 0..<d {
            for channel in 0..<c {
                for y in 0..<p {
                    for x in 0..<p {
                        values[o * p * p * c + (y * p + x) * c + channel] = entry.values[((o * c + channel) * p + y) * p + x]
                    }
                }
            }
        }
        return SafeTensors.Entry(name: entry.name, shape: [d, p * p * c], values: values)
    }
}
