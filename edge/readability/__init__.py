"""Which faces can be read: head pose from the detector's keypoints, size and sharpness floors."""
