//! Who is calling and whether they may: authenticators turn a request's
//! credentials into a user, authorizers decide on a user and an action.

use std::collections::HashMap;

use http::HeaderMap;
use rkube_pki::Subject;

/// An authenticated caller, as Kubernetes' `user.Info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
}

/// The credentials a request arrived with.
pub struct Credentials<'a> {
    /// Subject of the verified TLS client certificate, if one was presented.
    pub client_cert: Option<&'a Subject>,
    pub headers: &'a HeaderMap,
}

/// Turns credentials into a user; `None` means "not mine, ask the next one".
pub trait Authenticator: Send + Sync {
    fn authenticate(&self, creds: &Credentials<'_>) -> Option<User>;
}

/// Users by the CA-verified client certificate (CN = name, O = groups).
pub struct ClientCertAuthenticator;

impl Authenticator for ClientCertAuthenticator {
    fn authenticate(&self, creds: &Credentials<'_>) -> Option<User> {
        let s = creds.client_cert?;
        let mut groups = s.organizations.clone();
        groups.push("system:authenticated".into());
        Some(User {
            name: s.common_name.clone(),
            groups,
        })
    }
}

/// Users by static bearer tokens (the join token, k3s-style).
pub struct TokenAuthenticator {
    tokens: HashMap<String, User>,
}

impl TokenAuthenticator {
    /// Accept exactly these tokens.
    pub fn new(tokens: HashMap<String, User>) -> Self {
        TokenAuthenticator { tokens }
    }
}

impl Authenticator for TokenAuthenticator {
    fn authenticate(&self, creds: &Credentials<'_>) -> Option<User> {
        let value = creds
            .headers
            .get(http::header::AUTHORIZATION)?
            .to_str()
            .ok()?;
        let token = value.strip_prefix("Bearer ")?.trim();
        let mut user = self.tokens.get(token)?.clone();
        user.groups.push("system:authenticated".into());
        Some(user)
    }
}

/// Tries each authenticator in order.
pub struct AuthenticatorChain(pub Vec<Box<dyn Authenticator>>);

impl Authenticator for AuthenticatorChain {
    fn authenticate(&self, creds: &Credentials<'_>) -> Option<User> {
        self.0.iter().find_map(|a| a.authenticate(creds))
    }
}

/// What a request wants to do, for authorization.
#[derive(Debug)]
pub struct Attributes<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: Option<&'a str>,
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
}

/// Decides whether `user` may do what `attrs` describe.
pub trait Authorizer: Send + Sync {
    fn authorize(&self, user: &User, attrs: &Attributes<'_>) -> bool;
}

/// Every authenticated user may do everything (until RBAC is enforced).
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn authorize(&self, _user: &User, _attrs: &Attributes<'_>) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_and_certificate() {
        let mut headers = HeaderMap::new();
        let tokens = HashMap::from([(
            "s3cret".to_string(),
            User {
                name: "node".into(),
                groups: vec![],
            },
        )]);
        let chain = AuthenticatorChain(vec![
            Box::new(ClientCertAuthenticator),
            Box::new(TokenAuthenticator::new(tokens)),
        ]);
        assert_eq!(
            chain.authenticate(&Credentials {
                client_cert: None,
                headers: &headers
            }),
            None
        );
        headers.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Bearer wrong"),
        );
        assert_eq!(
            chain.authenticate(&Credentials {
                client_cert: None,
                headers: &headers
            }),
            None
        );
        headers.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static("Bearer s3cret"),
        );
        let user = chain.authenticate(&Credentials {
            client_cert: None,
            headers: &headers,
        });
        assert_eq!(user.map(|u| u.name), Some("node".to_string()));
        let subject = Subject {
            common_name: "admin".into(),
            organizations: vec!["system:masters".into()],
        };
        let user = chain.authenticate(&Credentials {
            client_cert: Some(&subject),
            headers: &headers,
        });
        assert_eq!(
            user.map(|u| u.groups),
            Some(vec![
                "system:masters".to_string(),
                "system:authenticated".to_string()
            ])
        );
    }
}
