"""Live recognition: sources, capture thread, inference loop, overlay, recording, web view.

Device-side code: NumPy, OpenCV and the runtime layer only, never torch.
"""
