//! Texts for the server's per-frame prompts ([`ActionHint`](crate::ActionHint)), in the two
//! languages the web SDK speaks, for hosts that have no strings of their own (`huoti verify`
//! prints them). The codes are stable; a host may word them as it likes.

use huoti_api::HintCode;

/// A language of the built-in texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Simplified Chinese (zh-CN).
    ZhCn,
}

/// What to show for `code`; `None` for a code this version does not know (show nothing).
pub fn hint_text(code: HintCode, lang: Lang) -> Option<&'static str> {
    let (en, zh) = match code {
        HintCode::FaceTheCamera => ("Face the camera", "请正对摄像头"),
        HintCode::TurnLeft => ("Turn your head to your left", "请向左转头"),
        HintCode::TurnRight => ("Turn your head to your right", "请向右转头"),
        HintCode::TurnFurther => ("Turn a little further", "请再多转一点"),
        HintCode::Nod => ("Nod: look down, then back up", "请点头：先低头，再抬起"),
        HintCode::NodFurther => ("Nod a little deeper", "请点头幅度再大一点"),
        HintCode::OpenMouth => ("Open your mouth wide", "请张大嘴巴"),
        HintCode::OpenWider => ("Open wider", "请把嘴张得更大"),
        HintCode::BlinkOnce => ("Blink once", "请眨一次眼"),
        HintCode::CloseEyesFully => ("Close your eyes fully, briefly", "请完全闭眼片刻"),
        HintCode::Other => return None,
    };
    Some(if lang == Lang::ZhCn { zh } else { en })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_has_both_texts_and_an_unknown_one_none() {
        let codes: Vec<HintCode> = serde_json::from_str(
            r#"["face_the_camera","turn_left","turn_right","turn_further","nod","nod_further","open_mouth","open_wider","blink_once","close_eyes_fully"]"#,
        )
        .unwrap();
        for c in codes {
            let (en, zh) = (hint_text(c, Lang::En).unwrap(), hint_text(c, Lang::ZhCn).unwrap());
            assert!(en.is_ascii() && !zh.is_ascii(), "{c:?}: {en} / {zh}");
        }
        assert_eq!(hint_text(HintCode::TurnFurther, Lang::En), Some("Turn a little further"));
        let unknown: HintCode = serde_json::from_str(r#""wave""#).unwrap();
        assert_eq!(hint_text(unknown, Lang::ZhCn), None);
    }
}
