package media

// Upright lets the tests turn pictures of every pixel type the decoders
// return, lossy WebP's YCbCr among them, which no test can encode.
var Upright = upright
