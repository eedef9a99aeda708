//! The administrator's login rules — which roles must use two-factor authentication,
//! the office's address ranges and who may log in from where — and the administrator's
//! view of the whole audit log.

use crate::{App, AppError, AppResult};
use hamkor_domain::{FieldError, Id, Role, ValidationErrors};
use hamkor_store::audit::{self, AuditFilter, LogEntry, Origin};
use hamkor_store::users::User;
use hamkor_store::{Actor, Exec, settings};
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;

/// Where a user may log in from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Network {
    /// Anywhere.
    Any,
    /// Only from the office's address ranges.
    Office,
    /// Only from outside the office's address ranges.
    Internet,
}

impl Network {
    pub const ALL: [Network; 3] = [Network::Any, Network::Office, Network::Internet];
    pub fn as_str(&self) -> &'static str {
        match self {
            Network::Any => "any",
            Network::Office => "office",
            Network::Internet => "internet",
        }
    }
    pub fn parse(s: &str) -> Option<Network> {
        Network::ALL.into_iter().find(|n| n.as_str() == s.trim())
    }
}

/// The organisation's login rules, kept in the `settings` table so every server applies
/// the same.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoginRules {
    /// Roles whose users must log in with a second factor.
    pub two_factor_roles: Vec<Role>,
    /// The office's address ranges.
    pub office_networks: Vec<IpNet>,
    /// Where the users of a role may log in from (absent: anywhere). A user's own
    /// setting, if not `role`, wins.
    pub role_networks: HashMap<Role, Network>,
}

/// Parses a list of address ranges (CIDR, or single addresses), separated by commas,
/// spaces or new lines; the error names the first bad entry.
pub fn parse_networks(text: &str) -> Result<Vec<IpNet>, String> {
    text.split([',', ' ', '\n', '\r', '\t'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| s.to_string())
        })
        .collect()
}

impl LoginRules {
    pub(crate) async fn load(ex: &mut impl Exec) -> AppResult<LoginRules> {
        let roles = settings::get(ex, "two_factor_roles")
            .await?
            .unwrap_or_default();
        let nets = settings::get(ex, "office_networks")
            .await?
            .unwrap_or_default();
        let by_role = settings::get(ex, "role_networks")
            .await?
            .unwrap_or_default();
        Ok(LoginRules {
            two_factor_roles: roles
                .split(',')
                .filter_map(|r| r.trim().parse().ok())
                .collect(),
            office_networks: parse_networks(&nets).unwrap_or_default(),
            role_networks: by_role
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .filter_map(|(r, n)| Some((r.trim().parse().ok()?, Network::parse(n)?)))
                .collect(),
        })
    }

    /// Where `user` may log in from.
    pub fn network_of(&self, user: &User) -> Network {
        Network::parse(&user.login_network).unwrap_or_else(|| {
            self.role_networks
                .get(&user.role)
                .copied()
                .unwrap_or(Network::Any)
        })
    }

    /// Whether an address is in the office's ranges.
    pub fn in_office(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.office_networks.iter().any(|n| n.contains(&ip))
    }
}

impl App {
    /// Whether the users of `role` must log in with a second factor.
    pub async fn two_factor_required(&self, role: Role) -> AppResult<bool> {
        Ok(self.login_rules().await?.two_factor_roles.contains(&role))
    }

    /// Whether `user` may log in from where the request came. Without a known address,
    /// only users who may log in from anywhere may.
    pub async fn network_allows(&self, user: &User, origin: &Origin) -> AppResult<bool> {
        let rules = self.login_rules().await?;
        let ip = origin.ip.as_deref().and_then(|i| i.parse::<IpAddr>().ok());
        Ok(match (rules.network_of(user), ip) {
            (Network::Any, _) => true,
            (_, None) => false,
            (Network::Office, Some(ip)) => rules.in_office(ip),
            (Network::Internet, Some(ip)) => !rules.in_office(ip),
        })
    }

    /// Changes the login rules (administrators only); audited.
    pub async fn set_login_rules(
        &self,
        actor: &Actor,
        rules: LoginRules,
        origin: &Origin,
    ) -> AppResult<()> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let roles: Vec<&str> = rules.two_factor_roles.iter().map(|r| r.as_str()).collect();
        let nets: Vec<String> = rules
            .office_networks
            .iter()
            .map(|n| n.to_string())
            .collect();
        let mut by_role: Vec<String> = rules
            .role_networks
            .iter()
            .filter(|(_, n)| **n != Network::Any)
            .map(|(r, n)| format!("{}={}", r.as_str(), n.as_str()))
            .collect();
        by_role.sort();
        let mut tx = self.db.begin().await?;
        settings::set(&mut tx, "two_factor_roles", &roles.join(",")).await?;
        settings::set(&mut tx, "office_networks", &nets.join(",")).await?;
        settings::set(&mut tx, "role_networks", &by_role.join(",")).await?;
        audit::security(
            &mut tx,
            "login_rules_change",
            Some(actor.user_id),
            None,
            origin,
            [
                ("two_factor_roles".to_string(), roles.into()),
                ("office_networks".to_string(), nets.into()),
                ("role_networks".to_string(), by_role.into()),
            ]
            .into_iter()
            .collect(),
        )
        .await?;
        tx.commit().await?;
        self.invalidate_login_rules();
        Ok(())
    }

    /// Sets where one user may log in from (`role`, `any`, `office`, `internet`;
    /// administrators only); audited.
    pub async fn set_user_login_network(
        &self,
        actor: &Actor,
        user: Id,
        network: &str,
        origin: &Origin,
    ) -> AppResult<()> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        if network != "role" && Network::parse(network).is_none() {
            return Err(FieldError::new("login_network", "error-choice")
                .with("options", "role, any, office, internet")
                .into());
        }
        let mut tx = self.db.begin().await?;
        if !hamkor_store::logins::set_login_network(&mut tx, user, network).await? {
            return Err(AppError::NotFound);
        }
        audit::security(
            &mut tx,
            "login_network_change",
            Some(actor.user_id),
            Some(user),
            origin,
            [("login_network".to_string(), network.into())]
                .into_iter()
                .collect(),
        )
        .await?;
        tx.commit().await?;
        self.forget_user_tokens(user);
        Ok(())
    }

    /// The audit log, newest first (administrators only). `limit` is clamped to 1..=500.
    pub async fn audit_log(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
        limit: i64,
    ) -> AppResult<Vec<LogEntry>> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && to.0 <= from.0
        {
            let mut e = ValidationErrors::default();
            e.push(FieldError::new("to", "error-period"));
            return Err(e.into());
        }
        let mut db = self.db.clone();
        Ok(audit::search(&mut db, filter, limit.clamp(1, 500)).await?)
    }

    /// Records a refused request (403) in the audit log: who (none before login), from
    /// where, the method and path (never the query string or body, which may hold
    /// secrets), and how many refusals of the same caller were left out before it (see the
    /// web layer's throttle).
    pub async fn audit_refusal(
        &self,
        user: Option<Id>,
        origin: &Origin,
        method: &str,
        path: &str,
        suppressed: u32,
    ) -> AppResult<()> {
        let mut details = serde_json::Map::new();
        details.insert("method".into(), method.into());
        details.insert(
            "path".into(),
            path.chars().take(300).collect::<String>().into(),
        );
        if suppressed > 0 {
            details.insert("suppressed".into(), suppressed.into());
        }
        let mut tx = self.db.begin().await?;
        audit::event(
            &mut tx,
            "request",
            "access_denied",
            user,
            None,
            origin,
            details,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_as_ranges_or_addresses() {
        let n = parse_networks("10.0.0.0/8, 192.168.1.7\n2001:db8::/32").unwrap();
        assert_eq!(n.len(), 3);
        assert_eq!(n[1].to_string(), "192.168.1.7/32");
        assert_eq!(
            parse_networks("10.0.0.0/8, nonsense"),
            Err("nonsense".to_string())
        );
        let rules = LoginRules {
            office_networks: n,
            ..Default::default()
        };
        assert!(rules.in_office("10.200.1.1".parse().unwrap()));
        assert!(rules.in_office("::ffff:10.1.1.1".parse().unwrap()));
        assert!(!rules.in_office("127.0.0.1".parse().unwrap()));
    }
}
