//! The authorisation oracle: a small model of the access rules, written here apart from the
//! server's code (plain Rust, no database), and random worlds of teams in a tree, users of
//! every role, role scopes, contacts and shares. For every (user, contact, action) of each
//! world, the server's answer over HTTP must be the model's: read 200 or 404, change 200,
//! 403 or 404, delete 204, 403 or 404, and each user's list must hold exactly the contacts
//! the model lets them read.
//!
//! `HAMKOR_ORACLE_WORLDS` sets the number of worlds (default 14: over 10,000 triples per
//! backend); `HAMKOR_ORACLE_SEED` replays a failing run (the seed is printed).

use crate::both;
use crate::support::TestApp;
use hamkor_app::users::UserRequest;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sc {
    None,
    Own,
    Team,
    All,
}

impl Sc {
    fn text(self) -> &'static str {
        match self {
            Sc::None => "none",
            Sc::Own => "own",
            Sc::Team => "team",
            Sc::All => "all",
        }
    }
}

const ROLES: [&str; 6] = [
    "administrator",
    "head",
    "sales",
    "marketer",
    "support",
    "read_only",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    Read,
    Write,
    Delete,
}

/// One random world, as the model sees it (indexes, not ids).
struct World {
    /// Each team's parent (an earlier team, so no loops).
    parents: Vec<Option<usize>>,
    /// (role, team) of each user.
    users: Vec<(&'static str, Option<usize>)>,
    /// Scopes of each non-administrator role: read, write, delete.
    scopes: HashMap<&'static str, [Sc; 3]>,
    /// Each contact's owner (a user).
    owners: Vec<usize>,
    /// (contact, user or team, edit?)
    shares: Vec<(usize, Target, bool)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Target {
    User(usize),
    Team(usize),
}

impl World {
    fn random(rng: &mut StdRng) -> World {
        let teams = rng.random_range(2..=6);
        let parents = (0..teams)
            .map(|i| {
                if i > 0 && rng.random_bool(0.6) {
                    Some(rng.random_range(0..i))
                } else {
                    None
                }
            })
            .collect();
        let users = (0..10)
            .map(|_| {
                let role = ROLES[rng.random_range(0..ROLES.len())];
                let team = rng.random_bool(0.8).then(|| rng.random_range(0..teams));
                (role, team)
            })
            .collect::<Vec<_>>();
        let scopes = ROLES[1..]
            .iter()
            .map(|r| {
                let mut pick = || [Sc::None, Sc::Own, Sc::Team, Sc::All][rng.random_range(0..4)];
                (*r, [pick(), pick(), pick()])
            })
            .collect();
        let owners = (0..25).map(|_| rng.random_range(0..users.len())).collect();
        let shares = (0..15)
            .map(|_| {
                let target = if rng.random_bool(0.6) {
                    Target::User(rng.random_range(0..users.len()))
                } else {
                    Target::Team(rng.random_range(0..teams))
                };
                (rng.random_range(0..25), target, rng.random_bool(0.5))
            })
            .collect::<Vec<_>>();
        // One share per (contact, target): the last one given wins, as on the server.
        let mut seen = HashSet::new();
        let mut shares: Vec<_> = shares
            .into_iter()
            .rev()
            .filter(|(c, t, _)| seen.insert((*c, *t)))
            .collect();
        shares.reverse();
        World {
            parents,
            users,
            scopes,
            owners,
            shares,
        }
    }

    /// `team` and every team below it.
    fn below(&self, team: usize) -> HashSet<usize> {
        (0..self.parents.len())
            .filter(|t| {
                let mut at = Some(*t);
                while let Some(x) = at {
                    if x == team {
                        return true;
                    }
                    at = self.parents[x];
                }
                false
            })
            .collect()
    }

    fn by_scope(&self, user: usize, contact: usize, act: Act) -> bool {
        let (role, team) = self.users[user];
        if role == "administrator" {
            return true;
        }
        let scope = self.scopes[role][act as usize];
        let owner = self.owners[contact];
        match scope {
            Sc::None => false,
            Sc::Own => owner == user,
            Sc::Team => {
                owner == user
                    || match (team, self.users[owner].1) {
                        (Some(t), Some(o)) => self.below(t).contains(&o),
                        _ => false,
                    }
            }
            Sc::All => true,
        }
    }

    /// The strongest share of the contact with the user or the user's team: None, or
    /// Some(edit?).
    fn share(&self, user: usize, contact: usize) -> Option<bool> {
        let team = self.users[user].1;
        self.shares
            .iter()
            .filter(|(c, t, _)| {
                *c == contact
                    && match t {
                        Target::User(u) => *u == user,
                        Target::Team(x) => Some(*x) == team,
                    }
            })
            .map(|(_, _, edit)| *edit)
            .max()
    }

    fn reads(&self, user: usize, contact: usize) -> bool {
        self.by_scope(user, contact, Act::Read) || self.share(user, contact).is_some()
    }

    /// What the server must answer.
    fn expect(&self, user: usize, contact: usize, act: Act) -> StatusCode {
        if !self.reads(user, contact) {
            return StatusCode::NOT_FOUND;
        }
        let ok = match act {
            Act::Read => return StatusCode::OK,
            Act::Write => {
                self.by_scope(user, contact, Act::Write) || self.share(user, contact) == Some(true)
            }
            Act::Delete => self.by_scope(user, contact, Act::Delete),
        };
        match (ok, act) {
            (false, _) => StatusCode::FORBIDDEN,
            (true, Act::Delete) => StatusCode::NO_CONTENT,
            (true, _) => StatusCode::OK,
        }
    }
}

async fn call(
    t: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = t
        .client
        .request(method, format!("{}{path}", t.base))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let v = resp.json().await.unwrap_or(Value::Null);
    (status, v)
}

async fn authorisation_oracle(t: TestApp) {
    let worlds: usize = std::env::var("HAMKOR_ORACLE_WORLDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(14);
    let seed: u64 = std::env::var("HAMKOR_ORACLE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("authorisation oracle: seed {seed} (HAMKOR_ORACLE_SEED replays it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let admin = t.tokens["admin"].clone();
    let mut triples = 0usize;
    for w in 0..worlds {
        let world = World::random(&mut rng);
        // Teams, parents first.
        let mut team_ids: Vec<String> = Vec::new();
        for (i, parent) in world.parents.iter().enumerate() {
            let (s, v) = call(
                &t,
                &admin,
                Method::POST,
                "/api/v1/teams",
                Some(json!({"name": format!("w{w}t{i}"), "parent_id": parent.map(|p| team_ids[p].clone())})),
            )
            .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            team_ids.push(v["id"].as_str().unwrap().to_string());
        }
        // Role scopes for this world.
        for (role, [r, wr, d]) in &world.scopes {
            let (s, v) = call(
                &t,
                &admin,
                Method::PATCH,
                &format!("/api/v1/roles/{role}"),
                Some(json!({"permissions": {"contact": {"read": r.text(), "write": wr.text(), "delete": d.text()}}})),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        // Users with tokens.
        let mut users: Vec<(String, String)> = Vec::new();
        for (i, (role, team)) in world.users.iter().enumerate() {
            let u = t
                .app
                .create_user(
                    None,
                    UserRequest {
                        email: format!("w{w}u{i}@oracle.hamkor.uz"),
                        name: format!("w{w}u{i}"),
                        role: role.to_string(),
                        team: team.map(|x| team_ids[x].clone()),
                        language: Some("en".into()),
                        password: None,
                    },
                )
                .await
                .expect("user");
            let token = t.app.create_token(u.id, "oracle").await.expect("token");
            users.push((u.id.to_string(), token));
        }
        // Contacts and their shares.
        let marker = format!("orcw{w}z");
        let mut contacts: Vec<String> = Vec::new();
        for (i, owner) in world.owners.iter().enumerate() {
            let (s, v) = call(
                &t,
                &admin,
                Method::POST,
                "/api/v1/contacts",
                Some(json!({"last_name": format!("{marker} {i}"), "owner_id": users[*owner].0})),
            )
            .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            contacts.push(v["id"].as_str().unwrap().to_string());
        }
        for (c, target, edit) in &world.shares {
            let body = match target {
                Target::User(u) => json!({"user_id": users[*u].0}),
                Target::Team(x) => json!({"team_id": team_ids[*x]}),
            };
            let mut body = body;
            body["access"] = json!(if *edit { "edit" } else { "read" });
            let (s, v) = call(
                &t,
                &admin,
                Method::POST,
                &format!("/api/v1/contacts/{}/shares", contacts[*c]),
                Some(body),
            )
            .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }
        let ctx = |u: usize, c: usize| {
            format!(
                "seed {seed}, world {w}: user {u} {:?} owner {} {:?}, shares {:?}, scopes {:?}, teams {:?}",
                world.users[u],
                world.owners[c],
                world.users[world.owners[c]],
                world.shares.iter().filter(|s| s.0 == c).collect::<Vec<_>>(),
                world.scopes.get(world.users[u].0),
                world.parents
            )
        };
        for (u, (_, token)) in users.iter().enumerate() {
            // The list holds exactly what the model lets the user read.
            let (s, v) = call(
                &t,
                token,
                Method::GET,
                &format!("/api/v1/contacts?q={marker}&limit=500"),
                None,
            )
            .await;
            // A role that reads no contacts lists only what is shared with the user or
            // their team; with nothing shared, the list is refused outright.
            let role_reads = world.users[u].0 == "administrator"
                || world.scopes[world.users[u].0][0] != Sc::None;
            let has_shares = world.shares.iter().any(|(_, target, _)| match target {
                Target::User(x) => *x == u,
                Target::Team(x) => Some(*x) == world.users[u].1,
            });
            if !role_reads && !has_shares {
                assert_eq!(s, StatusCode::FORBIDDEN, "list: {}", ctx(u, 0));
            } else {
                assert_eq!(s, StatusCode::OK, "{v}");
                let listed: HashSet<&str> = v["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|r| r["id"].as_str())
                    .collect();
                for (c, id) in contacts.iter().enumerate() {
                    assert_eq!(
                        listed.contains(id.as_str()),
                        world.reads(u, c),
                        "list: {}",
                        ctx(u, c)
                    );
                }
                // Sorted and read a few at a time, the pages hold the same records, each
                // once, in order, and the count agrees. The pages filter instead of
                // searching, so a user with shares, or with a team's scope, is listed from
                // several ordered queries merged (one per owner of the team, one for the
                // shared records); the search reads one.
                let sort = if u % 2 == 0 {
                    "-last_name"
                } else {
                    "created_at"
                };
                let whole = format!("/api/v1/contacts?q={marker}&limit=500&sort={sort}");
                let (_, v) = call(&t, token, Method::GET, &whole, None).await;
                let ids = |v: &Value| -> Vec<String> {
                    v["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r["id"].as_str().unwrap().to_string())
                        .collect()
                };
                let expected = ids(&v);
                assert_eq!(expected.len(), listed.len(), "sorted list: {}", ctx(u, 0));
                if sort == "-last_name" {
                    let names: Vec<&str> = v["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r["last_name"].as_str().unwrap())
                        .collect();
                    assert!(names.windows(2).all(|w| w[0] > w[1]), "order: {names:?}");
                }
                let mut paged = Vec::new();
                let mut cursor = String::new();
                loop {
                    let path = format!(
                        "/api/v1/contacts?last_name[like]={marker}&limit=3&sort={sort}&count=true{cursor}"
                    );
                    let (s, v) = call(&t, token, Method::GET, &path, None).await;
                    assert_eq!(s, StatusCode::OK, "{v}");
                    assert_eq!(v["total"], listed.len(), "count: {}", ctx(u, 0));
                    paged.extend(ids(&v));
                    match v["next_cursor"].as_str() {
                        Some(c) => cursor = format!("&cursor={}", urlencoding::encode(c)),
                        None => break,
                    }
                }
                assert_eq!(paged, expected, "pages of {sort}: {}", ctx(u, 0));
            }
            for (c, id) in contacts.iter().enumerate() {
                let path = format!("/api/v1/contacts/{id}");
                let (s, _) = call(&t, token, Method::GET, &path, None).await;
                assert_eq!(s, world.expect(u, c, Act::Read), "read: {}", ctx(u, c));
                let (s, v) = call(
                    &t,
                    token,
                    Method::PATCH,
                    &path,
                    Some(json!({"middle_name": format!("u{u}")})),
                )
                .await;
                assert_eq!(
                    s,
                    world.expect(u, c, Act::Write),
                    "change: {} {v}",
                    ctx(u, c)
                );
                let (s, _) = call(&t, token, Method::DELETE, &path, None).await;
                assert_eq!(s, world.expect(u, c, Act::Delete), "delete: {}", ctx(u, c));
                if s == StatusCode::NO_CONTENT {
                    let (s, v) =
                        call(&t, &admin, Method::POST, &format!("{path}/restore"), None).await;
                    assert_eq!(s, StatusCode::OK, "{v}");
                }
                triples += 3;
            }
        }
    }
    eprintln!("authorisation oracle: {triples} (user, contact, action) triples agree");
    assert!(worlds < 14 || triples >= 10_000, "{triples}");
}
both!(authorisation_oracle);
