"""Segment an image with the exported ONNX decoder: encoder in torch, decoder in onnxruntime.

    hqseg export sam_hq_vit_l.pth --format onnx --out decoder.onnx
    python examples/onnx_predict.py photo.jpg --checkpoint sam_hq_vit_l.pth \\
        --onnx decoder.onnx --box 40,30,420,380 --out mask.png

Works for every model line (HQ-SAM, Light HQ-SAM, HQ-SAM 2). The steps a front end needs:

1. the image encoder (torch here) in the authors' interactive geometry for the line:
   ``HQSamPredictor(model).set_image`` resizes the longest side to 1024 and pads (HQ-SAM,
   Light HQ-SAM) or resizes to 1024x1024 as SAM 2's predictor (HQ-SAM 2), and encodes;
2. the prompts moved into that 1024 frame (``predictor.apply_coords``); a box is two
   corner points labelled 2 and 3; HQ-SAM / Light HQ-SAM (SAM's ONNX convention) need a
   padding point (0, 0) labelled -1 when there is no box, HQ-SAM 2's graph adds its own;
3. the graph's ``masks_sum`` (SAM + HQ) or ``masks_hq`` low-res logits ``[1, 1, 256,
   256]`` back to the image size (``predictor.to_original_size``), thresholded at 0.
"""

from __future__ import annotations

import argparse

import numpy as np


def is_hq_sam2(predictor) -> bool:
    """Whether the model is HQ-SAM 2 (its graph takes SAM 2's features and pads itself)."""
    return predictor.model.line.name == "sam2"


def feature_feeds(predictor) -> dict[str, np.ndarray]:
    """The graph's image-feature inputs from an encoded image (see the export docs)."""
    emb = predictor.features.float().cpu()
    if is_hq_sam2(predictor):
        from hqseg.modeling.sam2_hq.model import unpack_high_res

        s0_channels = predictor.model.sam_mask_decoder.transformer_dim // 8
        s0, s1 = unpack_high_res(predictor.interm_features.float().cpu(), s0_channels)
        return {"image_embed": emb.numpy(), "high_res_feats_0": s0.numpy(),
                "high_res_feats_1": s1.numpy()}  # fmt: skip
    return {"image_embeddings": emb.numpy(),
            "interm_embeddings": predictor.interm_features.float().cpu().numpy()}  # fmt: skip


def prompt_feeds(predictor, box, points, labels) -> dict[str, np.ndarray]:
    """``point_coords`` / ``point_labels`` / mask inputs in the 1024 frame.

    ``box``: ``(x0, y0, x1, y1)`` or None; ``points``: ``[N, 2]`` (x, y); ``labels``:
    ``[N]`` (1 object, 0 background); all in original image pixels.
    """
    coords = np.asarray(points, np.float64).reshape(-1, 2)
    labels = np.asarray(labels, np.float32).reshape(-1)
    if box is not None:
        coords = np.concatenate([np.asarray(box, np.float64).reshape(2, 2), coords])
        labels = np.concatenate([np.array([2.0, 3.0], np.float32), labels])
    elif not is_hq_sam2(predictor):
        coords = np.concatenate([coords, np.zeros((1, 2))])
        labels = np.concatenate([labels, np.array([-1.0], np.float32)])
    coords = predictor.apply_coords(coords)
    return {
        "point_coords": coords.astype(np.float32)[None],
        "point_labels": labels.astype(np.float32)[None],
        "mask_input": np.zeros((1, 1, 256, 256), np.float32),
        "has_mask_input": np.zeros(1, np.float32),
    }


def onnx_mask(predictor, session, image, *, box=None, points=(), labels=(), output="masks_sum"):
    """Encode ``image`` (``(H, W, 3)`` uint8 RGB) in torch, decode the prompts with the
    onnxruntime ``session``; return the ``(H, W)`` bool mask of ``output``."""
    import torch

    predictor.set_image(image)
    feeds = {**feature_feeds(predictor), **prompt_feeds(predictor, box, points, labels)}
    (low_res,) = session.run([output], feeds)
    logits = predictor.to_original_size(torch.from_numpy(low_res))
    return logits[0, 0].numpy() > 0


def main(argv: list[str] | None = None) -> None:
    import onnxruntime as ort

    from hqseg.evaluation.predict import load_predictor
    from hqseg.modeling.interactive import write_png

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image")
    parser.add_argument("--checkpoint", required=True, help="the checkpoint that was exported")
    parser.add_argument("--onnx", required=True, help="`hqseg export --format onnx` output")
    parser.add_argument("--box", help="x0,y0,x1,y1 in pixels")
    parser.add_argument("--point", action="append", default=[], help="x,y[,label] (repeatable)")
    parser.add_argument("--hq-token-only", action="store_true", help="masks_hq, not masks_sum")
    parser.add_argument("--out", required=True, help="mask PNG")
    args = parser.parse_args(argv)

    from hqseg.modeling.interactive import read_image

    image = read_image(args.image)
    box = [float(v) for v in args.box.split(",")] if args.box else None
    pts = [[float(v) for v in p.split(",")] for p in args.point]
    predictor = load_predictor(None, checkpoint=args.checkpoint, resize_mode=None)  # drop-in
    session = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
    mask = onnx_mask(predictor, session, image, box=box, points=[p[:2] for p in pts],
                     labels=[p[2] if len(p) > 2 else 1.0 for p in pts],
                     output="masks_hq" if args.hq_token_only else "masks_sum")  # fmt: skip
    write_png(args.out, mask)
    print(f"wrote {args.out} ({int(mask.sum())} of {mask.size} pixels)")


if __name__ == "__main__":
    main()
