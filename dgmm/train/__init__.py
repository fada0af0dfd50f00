"""Training: frame-level cross-entropy trainer, schedules, checkpoints, data-parallel."""
