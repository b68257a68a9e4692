// Package desk owns the virtual help desk: queues, business hours, routing
// to agents, the customer's side, the agent console's API, and the
// manager's numbers.
package desk
