"""Data: rollout trajectories to SFT and preference datasets, and datasets to the Hugging Face Hub."""
