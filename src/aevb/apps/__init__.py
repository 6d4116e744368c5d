"""What a trained model is for: pictures of what it learned, inference on damaged images (inpainting,
denoising, upscaling), and the HTML report of a run."""
