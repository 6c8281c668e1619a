package models

// Actor kinds: who made a change.
const (
	ActorOperator = "operator" // a signed-in operator, in the dashboard
	ActorAPI      = "api"      // an app, with an API secret or a session token
	ActorSystem   = "system"   // Parley itself: migrations, seed data, the command line
)

// Actor is who makes a store write, so what the store records about it (a bot
// version, say) can name who made it. The dashboard sets the signed-in
// operator, the API the calling secret; writes nobody asked for are the system's.
type Actor struct {
	Kind string // ActorOperator, ActorAPI or ActorSystem
	ID   string // the operator's or API secret's id ("" for the system)
	Name string // shown next to what they did
}

// SystemActor is the actor of writes no operator or app made.
var SystemActor = Actor{Kind: ActorSystem, Name: "system"}
