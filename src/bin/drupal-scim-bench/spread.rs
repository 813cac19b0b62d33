//! Throughput of one process serving several sites: the same requests at the same concurrency,
//! all on the first site, then spread round-robin over every site, in alternating rounds.

use crate::db;
use crate::driver::{self, Sample};
use crate::scim::{NewUser, Scim};
use rand::Rng;
use std::sync::Arc;

/// One site to drive: its client and the uids seeded in its database (the lookup targets).
pub struct Target {
    pub scim: Scim,
    pub seeded: Vec<u64>,
}

/// One measured run.
pub struct Run {
    /// `userName eq` or `create`.
    pub kind: &'static str,
    /// How many sites the requests went to.
    pub sites: usize,
    pub round: usize,
    pub sample: Sample,
}

/// What to run.
pub struct Plan {
    pub lookups: usize,
    pub creates: usize,
    pub concurrency: usize,
    pub rounds: usize,
}

/// For each kind, `rounds` × (one site, every site), after a warm-up of both that is not reported.
pub async fn compare(targets: &[Target], plan: &Plan) -> Vec<Run> {
    let sites = targets.len();
    let mut runs = Vec::new();
    for (n, spread) in [(plan.lookups / 10, 1), (plan.lookups / 10, sites)] {
        let _ = lookups(targets, spread, n, plan.concurrency).await;
    }
    for round in 1..=plan.rounds {
        for spread in [1, sites] {
            let sample = lookups(targets, spread, plan.lookups, plan.concurrency).await;
            runs.push(Run { kind: "userName eq", sites: spread, round, sample });
        }
    }
    for (n, spread) in [(plan.creates / 10, 1), (plan.creates / 10, sites)] {
        let _ = creates(targets, spread, n, plan.concurrency, &format!("warm{spread}")).await;
    }
    for round in 1..=plan.rounds {
        for spread in [1, sites] {
            let tag = format!("r{round}s{spread}");
            let sample = creates(targets, spread, plan.creates, plan.concurrency, &tag).await;
            runs.push(Run { kind: "create", sites: spread, round, sample });
        }
    }
    runs
}

/// `n` lookups of random seeded accounts; request `i` goes to site `i % spread`.
async fn lookups(targets: &[Target], spread: usize, n: usize, c: usize) -> Sample {
    let mut rng = rand::rng();
    let work: Vec<(Scim, String)> = (0..n)
        .map(|i| {
            let t = &targets[i % spread];
            let uid = t.seeded[rng.random_range(0..t.seeded.len())];
            (t.scim.clone(), db::seeded_name(uid))
        })
        .collect();
    let work = Arc::new(work);
    let (sample, _) = driver::run(vec![(); c], n, move |(), i| {
        let (scim, name) = work[i].clone();
        async move { ((), scim.find_one("userName", &name).await) }
    })
    .await;
    sample
}

/// `n` creates with Entra's body; request `i` goes to site `i % spread`.
async fn creates(targets: &[Target], spread: usize, n: usize, c: usize, tag: &str) -> Sample {
    let clients: Arc<Vec<Scim>> = Arc::new(targets[..spread].iter().map(|t| t.scim.clone()).collect());
    let tag = tag.to_string();
    let (sample, _) = driver::run(vec![(); c], n, move |(), i| {
        let scim = clients[i % clients.len()].clone();
        let user = NewUser::numbered(&tag, i);
        async move { ((), scim.create_user(&user).await.map(|_| ())) }
    })
    .await;
    sample
}
