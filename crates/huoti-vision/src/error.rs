use std::path::PathBuf;

/// Everything that can go wrong in the vision engine.
///
/// Bad *input* (not an image, truncated, too small, too large) has its own variant each, so
/// callers can map them to stable error codes; a *model* problem names the file.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    /// Zero bytes were given.
    #[error("the input is empty (0 bytes)")]
    EmptyInput,
    /// The bytes are not a JPEG or PNG image.
    #[error("the input is not a JPEG or PNG image")]
    NotAnImage,
    /// The image data ends early.
    #[error("the image is truncated (its data ends before the image does)")]
    Truncated,
    /// The image declares a zero width or height.
    #[error("the image has zero width or height")]
    ZeroSize,
    /// The image is too small to hold a face worth analysing.
    #[error("the image is {width}×{height}; at least {min}×{min} pixels are needed")]
    TooSmall {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Minimum side accepted.
        min: u32,
    },
    /// The image declares more pixels than the budget allows (decompression-bomb guard).
    #[error("the image declares {width}×{height} pixels, over the budget of {max_pixels} pixels")]
    TooLarge {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The pixel budget.
        max_pixels: u64,
    },
    /// The image is damaged in some other way.
    #[error("the image could not be decoded: {0}")]
    Corrupt(String),
    /// No face was found where exactly one is needed (face match).
    #[error("no face was found in the image")]
    NoFace,
    /// Several faces were found where exactly one is needed (face match): whose face would
    /// be compared is ambiguous.
    #[error("{count} faces were found in the image; exactly one is needed")]
    SeveralFaces {
        /// Faces detected.
        count: usize,
    },
    /// The face's landmarks are degenerate (all at one point): it cannot be aligned.
    #[error("the face's landmarks are degenerate; it cannot be aligned")]
    Unalignable,
    /// Bytes or numbers that are not a face template of this model (wrong length, not
    /// finite, not of unit length).
    #[error("not a face template: {0}")]
    BadTemplate(String),
    /// A model file is missing.
    #[error("model file {path} is missing. Fix: run `huoti models fetch` (with --mirror DIR or HUOTI_MODEL_MIRROR)")]
    ModelMissing {
        /// The expected file.
        path: PathBuf,
    },
    /// A model file could not be loaded or run.
    #[error("model {path}: {message}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// What tract said.
        message: String,
    },
}

impl VisionError {
    /// A stable snake_case code for this kind of error (CLI JSON, API problem codes).
    pub fn code(&self) -> &'static str {
        match self {
            VisionError::EmptyInput => "empty_input",
            VisionError::NotAnImage => "not_an_image",
            VisionError::Truncated => "truncated",
            VisionError::ZeroSize => "zero_size",
            VisionError::TooSmall { .. } => "too_small",
            VisionError::TooLarge { .. } => "too_large",
            VisionError::Corrupt(_) => "corrupt",
            VisionError::NoFace => "no_face",
            VisionError::SeveralFaces { .. } => "several_faces",
            VisionError::Unalignable => "unalignable_face",
            VisionError::BadTemplate(_) => "bad_template",
            VisionError::ModelMissing { .. } | VisionError::Model { .. } => "model_error",
        }
    }

    /// True for problems of the input (the caller's), false for setup problems (models).
    pub fn is_input_error(&self) -> bool {
        !matches!(self, VisionError::ModelMissing { .. } | VisionError::Model { .. })
    }
}
