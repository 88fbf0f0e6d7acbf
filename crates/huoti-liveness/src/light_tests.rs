//! Tests of the light profiles against WCAG 2.3.1 (a child module of `light`).
use super::*;
use crate::{ActionStep, ChallengeConfig, FlashStep};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn plan_with(
    colours: &[[u8; 3]],
    step_ms: u64,
    transition_ms: u64,
    reduced: bool,
) -> ChallengePlan {
    let flashes = colours
        .iter()
        .enumerate()
        .map(|(i, &rgb)| FlashStep {
            rgb,
            start_ms: 1000 + i as u64 * step_ms,
            end_ms: 1000 + (i as u64 + 1) * step_ms,
        })
        .collect::<Vec<_>>();
    let end = flashes.last().map_or(1000, |f| f.end_ms);
    let step = ActionStep {
        action: crate::Action::Blink,
        start_ms: end,
        end_ms: end + 2000,
    };
    let mut p = ChallengePlan::fixed("ab", vec![step], flashes).unwrap();
    p.transition_ms = transition_ms;
    p.reduced_flash = reduced;
    p
}

#[test]
fn wcag_definitions() {
    // Black to white is a general flash change; two light greys are not (darker ≥ 0.8).
    assert!(is_general_flash_change([0, 0, 0], [255, 255, 255]));
    assert!(!is_general_flash_change([235, 235, 235], [255, 255, 255]));
    assert!(!is_general_flash_change([100, 100, 100], [110, 110, 110]));
    assert!(is_saturated_red([255, 0, 0]) && is_saturated_red([200, 20, 10]));
    assert!(!is_saturated_red([255, 0, 255]) && !is_saturated_red([0, 0, 0]));
    assert!(is_red_flash_change([255, 0, 0], [0, 255, 0]));
    assert!(
        !is_red_flash_change([255, 0, 255], [0, 255, 0]),
        "no saturated red involved"
    );
    assert!(
        !is_red_flash_change([255, 0, 0], [250, 5, 0]),
        "too close in chromaticity"
    );
}

#[test]
fn safe_palette_is_isoluminant_and_has_no_red() {
    let lum: Vec<f32> = SAFE_PALETTE
        .iter()
        .map(|&c| relative_luminance(c))
        .collect();
    let (lo, hi) = lum
        .iter()
        .fold((1f32, 0f32), |(lo, hi), &l| (lo.min(l), hi.max(l)));
    assert!(
        lo >= 0.22 && hi <= 0.31 && hi - lo <= SAFE_MAX_LUMINANCE_STEP,
        "{lum:?}"
    );
    for &c in &SAFE_PALETTE {
        assert!(red_share(c) < 0.65, "{c:?}: {}", red_share(c));
        for &d in &SAFE_PALETTE {
            assert!(!is_general_flash_change(c, d) && !is_red_flash_change(c, d));
        }
    }
}

#[test]
fn standard_profile_keeps_three_flashes_but_flashes() {
    let p = plan_with(
        &[
            [255, 0, 0],
            [0, 255, 0],
            [0, 0, 255],
            [255, 255, 255],
            [255, 0, 255],
        ],
        400,
        0,
        false,
    );
    let a = assess_light(&p, Some([255, 255, 255]));
    assert_eq!(a.max_changes_per_second, 3);
    assert_eq!(a.max_general_flashes_per_second, 1);
    assert_eq!(a.max_red_flashes_per_second, 1);
    assert!(a.meets_three_flashes() && !a.below_flash_thresholds() && a.saturated_red);
    assert!(a.max_luminance_change > 0.5);
    // Red on black, 100 ms each: far beyond three flashes a second.
    let strobe = plan_with(&[[255, 0, 0], [0, 0, 0]].repeat(6), 100, 0, false);
    assert!(!assess_light(&strobe, None).meets_three_flashes());
}

#[test]
fn every_random_safe_plan_is_below_the_flash_thresholds_on_any_screen() {
    let config = ChallengeConfig {
        reduced_flash: true,
        ..Default::default()
    };
    for seed in 0..200 {
        let p =
            ChallengePlan::random(&config, "ab", &mut ChaCha20Rng::seed_from_u64(seed)).unwrap();
        for surround in [[255, 255, 255], [0, 0, 0], [128, 128, 128]] {
            let a = assess_light(&p, Some(surround));
            assert!(
                a.below_flash_thresholds(),
                "seed {seed} on {surround:?}: {a:?}"
            );
            assert!(
                a.max_changes_per_second <= 2 && !a.saturated_red,
                "seed {seed}: {a:?}"
            );
            assert!(a.transition_ms >= SAFE_MIN_TRANSITION_MS);
        }
        let own = assess_light(&p, None);
        assert!(
            own.max_luminance_change <= SAFE_MAX_LUMINANCE_STEP && own.max_changes_per_second <= 2,
            "{own:?}"
        );
    }
}

#[test]
fn a_plan_claiming_the_safe_profile_is_checked() {
    let ok = plan_with(&SAFE_PALETTE[..4], 800, 300, true);
    assert_eq!(ok.validate(), Ok(()));
    let red = plan_with(&[[255, 0, 0], [0, 150, 160], [40, 160, 40]], 800, 300, true);
    assert!(matches!(red.validate(), Err(Error::UnsafeLight(_))));
    let bright = plan_with(
        &[[255, 255, 255], [30, 130, 255], [40, 160, 40]],
        800,
        300,
        true,
    );
    assert!(matches!(bright.validate(), Err(Error::UnsafeLight(_))));
    let hard = plan_with(&SAFE_PALETTE[..4], 800, 0, true);
    assert!(matches!(hard.validate(), Err(Error::UnsafeLight(_))));
    let fast = plan_with(&SAFE_PALETTE[..4], 400, 200, true);
    assert!(matches!(fast.validate(), Err(Error::UnsafeLight(_))));
    let long_fade = plan_with(&SAFE_PALETTE[..4], 800, 500, true);
    assert!(matches!(long_fade.validate(), Err(Error::FlashConfig(_))));
}

#[test]
fn unsafe_configurations_are_refused() {
    let d = ChallengeConfig::default;
    let check = |c: ChallengeConfig| c.validate();
    let strobe = FlashConfig {
        step_ms: 100,
        ..Default::default()
    };
    assert!(matches!(
        check(ChallengeConfig {
            flash: strobe,
            ..d()
        }),
        Err(Error::UnsafeLight(_))
    ));
    let mut red_safe = FlashConfig::photosensitive_safe();
    red_safe.colours.push([255, 0, 0]);
    assert!(matches!(
        check(ChallengeConfig {
            safe_flash: red_safe,
            ..d()
        }),
        Err(Error::UnsafeLight(_))
    ));
    let mut white_safe = FlashConfig::photosensitive_safe();
    white_safe.colours.push([255, 255, 255]);
    assert!(matches!(
        check(ChallengeConfig {
            safe_flash: white_safe,
            ..d()
        }),
        Err(Error::UnsafeLight(_))
    ));
    let mut hard_safe = FlashConfig::photosensitive_safe();
    hard_safe.transition_ms = 0;
    assert!(matches!(
        check(ChallengeConfig {
            safe_flash: hard_safe,
            ..d()
        }),
        Err(Error::UnsafeLight(_))
    ));
    // The standard profile may be swapped for the safe one wholesale.
    assert_eq!(
        check(ChallengeConfig {
            flash: FlashConfig::photosensitive_safe(),
            ..d()
        }),
        Ok(())
    );
}

#[test]
fn no_light_step_is_refused_outside_fixed_plans() {
    let step = ActionStep {
        action: crate::Action::Nod,
        start_ms: 1000,
        end_ms: 3000,
    };
    let mut p = ChallengePlan::fixed("ab", vec![step], vec![]).unwrap();
    assert_eq!(p.check_for_session(true), Ok(()));
    assert_eq!(p.check_for_session(false), Err(Error::NoLightStep));
    p.fixed = false; // a plan from elsewhere claiming to be a production plan
    assert_eq!(p.validate(), Err(Error::NoLightStep));
    let lit = plan_with(&[[255, 0, 0], [0, 0, 255]], 400, 0, false);
    assert_eq!(lit.check_for_session(false), Ok(()));
}

#[test]
fn profile_names_are_stable() {
    for (p, name) in [
        (LightProfile::Standard, "standard"),
        (LightProfile::PhotosensitiveSafe, "photosensitive_safe"),
    ] {
        assert_eq!(p.as_str(), name);
        assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{name}\""));
    }
}

#[test]
fn a_fixed_plan_redrawn_in_the_safe_profile_is_safe_keeps_its_actions_and_safe_colours() {
    let safe = FlashConfig::photosensitive_safe();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    // Hard cuts of saturated colours, a saturated red among them.
    let hard = plan_with(&[[255, 0, 0], [0, 0, 255], [255, 255, 255], [0, 255, 0]], 400, 0, false);
    for _ in 0..50 {
        let p = hard.clone().with_safe_light(&safe, &mut rng).unwrap();
        assert_eq!(p.light_profile(), LightProfile::PhotosensitiveSafe);
        assert_eq!(check_safe_plan(&p), Ok(()));
        assert!(assess_light(&p, Some([0, 0, 0])).meets_three_flashes());
        assert_eq!(p.actions, hard.actions, "the actions stay");
        assert_eq!(p.flashes.len(), 4);
        assert_eq!(p.flashes[0].start_ms, 1000);
        assert!(p.flashes.iter().all(|f| f.end_ms - f.start_ms == safe.step_ms && safe.colours.contains(&f.rgb)));
        assert_eq!((p.transition_ms, p.fixed), (safe.transition_ms, true));
        assert_eq!(p.total_ms, p.flashes.last().unwrap().end_ms.max(p.actions[0].end_ms));
        assert_eq!(p.validate(), Ok(()));
    }
    // Safe colours given are kept as given: a test can fix the whole plan.
    let chosen = plan_with(&SAFE_PALETTE[..3], 400, 0, false);
    let p = chosen.with_safe_light(&safe, &mut rng).unwrap();
    assert_eq!(p.flashes.iter().map(|f| f.rgb).collect::<Vec<_>>(), SAFE_PALETTE[..3].to_vec());
    // No light step stays none (a fixed plan only), and an unsafe configuration is refused.
    let none = ChallengePlan::fixed("ab", hard.actions.clone(), vec![]).unwrap();
    assert!(none.clone().with_safe_light(&safe, &mut rng).unwrap().flashes.is_empty());
    let cut = FlashConfig { transition_ms: 0, ..safe };
    assert!(matches!(hard.with_safe_light(&cut, &mut rng), Err(Error::UnsafeLight(_))));
}
