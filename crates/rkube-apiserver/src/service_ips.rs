//! Allocation of Service cluster IPs and node ports. Each allocated value
//! is a key in the datastore (`/registry/serviceips/<ip>`,
//! `/registry/servicenodeports/<port>`), created atomically, so two
//! Services can never get the same one, even from concurrent requests.

use std::net::Ipv4Addr;
use std::sync::Arc;

use rand::Rng;
use rkube_api::{ApiError, FieldError};
use rkube_store::Store;
use serde_json::{Value, json};

const IP_PREFIX: &str = "/registry/serviceips/";
const PORT_PREFIX: &str = "/registry/servicenodeports/";
/// The node port range Kubernetes uses by default.
const NODE_PORTS: std::ops::RangeInclusive<u16> = 30000..=32767;
/// Random probes before falling back to a scan for a free value.
const PROBES: usize = 32;

/// The Service network (an IPv4 CIDR such as 10.43.0.0/16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceNetwork {
    base: u32,
    size: u32,
}

impl ServiceNetwork {
    /// Parse `a.b.c.d/n`; `None` when malformed or too small to use.
    pub fn parse(cidr: &str) -> Option<ServiceNetwork> {
        let (addr, bits) = cidr.split_once('/')?;
        let addr: Ipv4Addr = addr.parse().ok()?;
        let bits: u32 = bits.parse().ok().filter(|b| (8..=30).contains(b))?;
        let size = 1u32 << (32 - bits);
        Some(ServiceNetwork {
            base: u32::from(addr) & !(size - 1),
            size,
        })
    }

    /// The n-th address of the network.
    pub fn nth(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(self.base.wrapping_add(n))
    }

    fn offset(&self, ip: Ipv4Addr) -> Option<u32> {
        let off = u32::from(ip).wrapping_sub(self.base);
        (off < self.size).then_some(off)
    }

    /// Offsets at or above this are handed out first; the ones below are
    /// kept for Services that ask for a specific IP (as Kubernetes does).
    fn dynamic_start(&self) -> u32 {
        (self.size / 16).clamp(16, 256).min(self.size / 2)
    }
}

/// Hands out cluster IPs and node ports through the store.
pub struct Allocator {
    pub store: Arc<dyn Store>,
    pub network: ServiceNetwork,
}

fn invalid(name: &str, field: &str, value: Value, detail: String) -> ApiError {
    ApiError::invalid(
        "",
        "Service",
        name,
        &[FieldError::invalid(field, value, detail)],
    )
}

impl Allocator {
    async fn claim(&self, key: &str, owner: &str) -> Result<bool, ApiError> {
        match self
            .store
            .create(key, owner.as_bytes().to_vec().into())
            .await
        {
            Ok(_) => Ok(true),
            Err(rkube_store::Error::AlreadyExists(_)) => Ok(false),
            Err(e) => Err(ApiError::unavailable(format!(
                "storage is unavailable: {e}"
            ))),
        }
    }

    async fn claim_ip(&self, owner: &str) -> Result<Option<Ipv4Addr>, ApiError> {
        let (start, end) = (self.network.dynamic_start(), self.network.size - 1);
        for _ in 0..PROBES {
            let off = rand::rng().random_range(start..end);
            let ip = self.network.nth(off);
            if self.claim(&format!("{IP_PREFIX}{ip}"), owner).await? {
                return Ok(Some(ip));
            }
        }
        for off in (start..end).chain(1..start) {
            let ip = self.network.nth(off);
            if self.claim(&format!("{IP_PREFIX}{ip}"), owner).await? {
                return Ok(Some(ip));
            }
        }
        Ok(None)
    }

    async fn claim_port(&self, owner: &str) -> Result<Option<u16>, ApiError> {
        for _ in 0..PROBES {
            let port = rand::rng().random_range(NODE_PORTS);
            if self.claim(&format!("{PORT_PREFIX}{port}"), owner).await? {
                return Ok(Some(port));
            }
        }
        for port in NODE_PORTS {
            if self.claim(&format!("{PORT_PREFIX}{port}"), owner).await? {
                return Ok(Some(port));
            }
        }
        Ok(None)
    }

    /// Give a new Service its cluster IP and node ports (the ones it asked
    /// for, or free ones). Returns the claimed keys so a failed create can release them.
    pub async fn allocate(&self, svc: &mut Value) -> Result<Vec<String>, ApiError> {
        let mut claimed = Vec::new();
        match self.allocate_into(svc, &mut claimed).await {
            Ok(()) => Ok(claimed),
            Err(e) => {
                self.release_keys(&claimed).await;
                Err(e)
            }
        }
    }

    async fn allocate_into(
        &self,
        svc: &mut Value,
        claimed: &mut Vec<String>,
    ) -> Result<(), ApiError> {
        let name = svc["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let owner = format!(
            "{}/{name}",
            svc["metadata"]["namespace"].as_str().unwrap_or_default()
        );
        let kind = svc["spec"]["type"]
            .as_str()
            .unwrap_or("ClusterIP")
            .to_string();
        if kind == "ExternalName" {
            return Ok(());
        }
        let wanted = svc["spec"]["clusterIP"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if wanted.is_empty() {
            let ip = self.claim_ip(&owner).await?.ok_or_else(|| {
                invalid(
                    &name,
                    "spec.clusterIPs",
                    json!([]),
                    "failed to allocate IP: range is full".into(),
                )
            })?;
            svc["spec"]["clusterIP"] = json!(ip.to_string());
            claimed.push(format!("{IP_PREFIX}{ip}"));
        } else if wanted != "None" {
            let field = "spec.clusterIPs";
            let ip: Ipv4Addr = wanted.parse().map_err(|_| {
                invalid(
                    &name,
                    field,
                    json!([wanted]),
                    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)".into(),
                )
            })?;
            if self
                .network
                .offset(ip)
                .is_none_or(|o| o == 0 || o == self.network.size - 1)
            {
                return Err(invalid(
                    &name,
                    field,
                    json!([wanted]),
                    format!(
                        "failed to allocate IP {wanted}: the provided IP ({wanted}) is not in the valid range. The range of valid IPs is {}/{}",
                        self.network.nth(0),
                        32 - self.network.size.trailing_zeros()
                    ),
                ));
            }
            if !self.claim(&format!("{IP_PREFIX}{ip}"), &owner).await? {
                return Err(invalid(
                    &name,
                    field,
                    json!([wanted]),
                    format!("failed to allocate IP {wanted}: provided IP is already allocated"),
                ));
            }
            claimed.push(format!("{IP_PREFIX}{ip}"));
        }
        if kind == "NodePort" || kind == "LoadBalancer" {
            self.allocate_node_ports(svc, &name, &owner, claimed)
                .await?;
        }
        Ok(())
    }

    async fn allocate_node_ports(
        &self,
        svc: &mut Value,
        name: &str,
        owner: &str,
        claimed: &mut Vec<String>,
    ) -> Result<(), ApiError> {
        let Some(ports) = svc["spec"]["ports"].as_array_mut() else {
            return Ok(());
        };
        for (i, port) in ports.iter_mut().enumerate() {
            match port["nodePort"].as_i64().filter(|p| *p != 0) {
                Some(p) => {
                    let field = format!("spec.ports[{i}].nodePort");
                    let ok = u16::try_from(p).ok().filter(|p| NODE_PORTS.contains(p));
                    let Some(p16) = ok else {
                        return Err(invalid(
                            name,
                            &field,
                            json!(p),
                            format!(
                                "provided port is not in the valid range. The range of valid ports is {}-{}",
                                NODE_PORTS.start(),
                                NODE_PORTS.end()
                            ),
                        ));
                    };
                    if !self.claim(&format!("{PORT_PREFIX}{p16}"), owner).await? {
                        return Err(invalid(
                            name,
                            &field,
                            json!(p),
                            "provided port is already allocated".into(),
                        ));
                    }
                    claimed.push(format!("{PORT_PREFIX}{p16}"));
                }
                None => {
                    let p = self.claim_port(owner).await?.ok_or_else(|| {
                        invalid(
                            name,
                            &format!("spec.ports[{i}].nodePort"),
                            json!(0),
                            "range is full".into(),
                        )
                    })?;
                    port["nodePort"] = json!(p);
                    claimed.push(format!("{PORT_PREFIX}{p}"));
                }
            }
        }
        Ok(())
    }

    async fn release_keys(&self, keys: &[String]) {
        for key in keys {
            if let Err(e) = self.store.delete(key, None).await {
                tracing::warn!(%key, error = %e, "could not release a service allocation");
            }
        }
    }

    /// Free what a deleted Service held.
    pub async fn release(&self, svc: &Value) {
        let mut keys = Vec::new();
        if let Some(ip) = svc["spec"]["clusterIP"]
            .as_str()
            .filter(|ip| !ip.is_empty() && *ip != "None")
        {
            keys.push(format!("{IP_PREFIX}{ip}"));
        }
        for port in svc["spec"]["ports"].as_array().into_iter().flatten() {
            if let Some(p) = port["nodePort"].as_i64().filter(|p| *p != 0) {
                keys.push(format!("{PORT_PREFIX}{p}"));
            }
        }
        self.release_keys(&keys).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_reserve_a_static_band() {
        let net = ServiceNetwork::parse("10.43.0.0/16").expect("valid");
        assert_eq!(net.nth(1), Ipv4Addr::new(10, 43, 0, 1));
        assert_eq!(net.dynamic_start(), 256);
        assert_eq!(net.offset(Ipv4Addr::new(10, 43, 2, 3)), Some(515));
        assert_eq!(net.offset(Ipv4Addr::new(10, 44, 0, 0)), None);
        assert!(ServiceNetwork::parse("10.43.0.0").is_none());
        assert!(ServiceNetwork::parse("10.43.0.0/31").is_none());
        assert_eq!(
            ServiceNetwork::parse("10.96.0.0/28").map(|n| n.dynamic_start()),
            Some(8)
        );
    }
}
