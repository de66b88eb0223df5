//! The plan against the f64 oracle (`oracle/mod.rs`), natively: the best kernel of this CPU
//! and the portable one, single images and batches, and the errors for bad shapes.
#![cfg(not(target_arch = "wasm32"))]

mod oracle;

use lookout_cpu::{CpuError, INPUT_LEN, Kernel, NUM_CLASSES, Plan};

fn check_against_reference(kernel: Kernel, batch: usize) {
    let worst = oracle::worst_error(kernel, batch);
    eprintln!("{kernel:?} batch {batch}: worst relative logit error {worst:e}");
    assert!(
        worst < 1e-4,
        "{kernel:?} batch {batch}: worst relative logit error {worst:e}"
    );
}

#[test]
fn best_kernel_matches_the_reference_for_one_image_and_a_batch() {
    check_against_reference(Kernel::detect(), 1);
    check_against_reference(Kernel::detect(), 5);
}

/// Every kernel this CPU runs, forced one at a time (AVX-512 and AVX2 on an AVX-512
/// machine), single images and batches that are not multiples of the microkernel's rows.
#[test]
fn every_kernel_this_cpu_runs_matches_the_reference() {
    let kernels: Vec<Kernel> = Kernel::ALL
        .into_iter()
        .filter(|k| k.is_supported())
        .collect();
    eprintln!("kernels on this CPU: {kernels:?}");
    for kernel in kernels {
        for batch in [1, 2, 13] {
            check_against_reference(kernel, batch);
        }
    }
}

#[test]
fn portable_kernel_matches_the_reference() {
    check_against_reference(Kernel::Portable, 3);
}

#[test]
fn half_precision_fc1_matches_the_reference() {
    let net = oracle::Net::random_halves(11);
    let plan = Plan::new(&net.params()).expect("plan");
    assert_eq!(
        plan.fc1_reads_halves(),
        matches!(plan.kernel(), Kernel::Avx2 | Kernel::Avx512)
    );
    assert!(
        !Plan::new(&oracle::Net::random(11).params())
            .expect("plan")
            .fc1_reads_halves()
    );
    for (kernel, batch) in Kernel::ALL
        .into_iter()
        .filter(|k| k.is_supported())
        .flat_map(|k| [(k, 1), (k, 2)])
    {
        let worst = oracle::worst_error_of(&net, kernel, batch);
        assert!(
            worst < 1e-4,
            "{kernel:?} batch {batch}: worst relative logit error {worst:e}"
        );
    }
}

#[test]
fn batch_answers_equal_single_answers() {
    let net = oracle::Net::random(3);
    let plan = Plan::new(&net.params()).expect("plan");
    let inputs = oracle::images(7, 5);
    let batch = plan.logits(&inputs).expect("batch");
    for (i, image) in inputs.chunks_exact(INPUT_LEN).enumerate() {
        let one = plan.logits(image).expect("one");
        for (a, b) in one.iter().zip(&batch[i * NUM_CLASSES..]) {
            assert!(
                (a - b).abs() <= 1e-5 * a.abs().max(1.0),
                "image {i}: {a} vs {b}"
            );
        }
    }
}

/// The forward pass reuses its buffers from call to call, on every thread, whatever plan
/// ran last: an answer must not depend on what ran before it (another network, another
/// batch size, a border left from a larger image count).
#[test]
fn answers_do_not_depend_on_earlier_calls() {
    let a = Plan::new(&oracle::Net::random(5).params()).expect("plan");
    let b = Plan::new(&oracle::Net::random(6).params()).expect("plan");
    let (one, many) = (oracle::images(1, 21), oracle::images(13, 22));
    let (first_one, first_many) = (a.logits(&one).expect("one"), a.logits(&many).expect("many"));
    for round in 0..3 {
        b.logits(&many).expect("other plan, many");
        assert_eq!(a.logits(&one).expect("one"), first_one, "round {round}");
        b.logits(&one).expect("other plan, one");
        assert_eq!(a.logits(&many).expect("many"), first_many, "round {round}");
        assert_eq!(a.logits(&one).expect("one"), first_one, "round {round}");
    }
}

#[test]
fn bad_shapes_are_errors() {
    let net = oracle::Net::random(1);
    let plan = Plan::new(&net.params()).expect("plan");
    assert_eq!(plan.logits(&[]), Err(CpuError::Input(0)));
    assert_eq!(plan.logits(&[0.0; 5]), Err(CpuError::Input(5)));
    let mut p = net.params();
    p.fc1.bias = &p.fc1.bias[..10];
    assert!(matches!(
        Plan::new(&p),
        Err(CpuError::Shape {
            name: "fc1 bias",
            ..
        })
    ));
    let mut p = net.params();
    p.conv[2].in_channels = 32;
    assert!(matches!(Plan::new(&p), Err(CpuError::Unsupported(_))));
}
