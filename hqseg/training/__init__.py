"""Training HQ-SAM: the official recipe (FACTS §3) on torchrun DDP, resumable and logged.

Modules, one job each:
    config          TrainConfig: every recipe setting, with params.yaml counterparts.
    augment         horizontal flip + large-scale jitter on (image, mask), uint8, crop first.
    prompts         GT box, random foreground points, noise-mask prompts.
    point_sampling  PointRend-style uncertain point selection and bilinear point sampling.
    losses          BCE + dice on sampled points.
    data            the training Dataset / sampler over a ``hqseg build`` folder.
    model_api       the one place that talks to ``hqseg.modeling``.
    distributed     torchrun process-group setup and gradient all-reduce.
    run_state       the resumable run state (training checkpoints), atomic, weights_only.
    history         logged metrics keyed by step, saved inside each checkpoint.
    validation      held-out mIoU / mBIoU exactly as the HQ benchmarks score them.
    monitor         per-step metric files (dvclive layout) and the PNG training curve.
    step            one micro-batch, image by image: encode (no grad), decode, loss, backward.
    loop            ``train(config)``: ties it together.
"""
