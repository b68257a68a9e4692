package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/billing"
	"github.com/parley-chat/parley/internal/desk"
	"github.com/parley-chat/parley/internal/httpx"
	"github.com/parley-chat/parley/internal/market"
)

// openApp opens the database and applies migrations, for the
// administrative commands; it logs only warnings.
func openApp(ctx context.Context, s streams, store storageFlags) (*app.App, error) {
	log := slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return app.New(ctx, store.config(), log)
}

func newMigrateCommand(s streams) *cobra.Command {
	var store storageFlags
	cmd := &cobra.Command{
		Use:     "migrate",
		Short:   "Apply pending database migrations and exit",
		Args:    cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return bindEnv(cmd) },
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd.Context(), s, store)
			if err != nil {
				return err
			}
			defer a.Close()
			fmt.Fprintf(s.out, "database is up to date (%s)\n", a.DB.Dialect)
			return nil
		},
	}
	store.register(cmd.Flags())
	envUsage(cmd.Flags())
	return cmd
}

func newUserCommand(s streams) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage accounts"}
	var (
		store             storageFlags
		email, name, role string
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an account; the password is read from standard input",
		Long: `Create an account with a role. The password is read from standard input
(prompted without echo on a terminal), never from the command line, where
other users of the machine could see it.`,
		Example: `  echo 'a long secret phrase' | parley user create --email ana@example.com --name Ana --role agent`,
		Args:    cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return bindEnv(cmd) },
		RunE: func(cmd *cobra.Command, _ []string) error {
			password, err := readPassword(s)
			if err != nil {
				return err
			}
			a, err := openApp(cmd.Context(), s, store)
			if err != nil {
				return err
			}
			defer a.Close()
			u, err := a.Auth.CreateUser(cmd.Context(), email, name, password, auth.Role(role))
			if err != nil {
				return cliError(err)
			}
			fmt.Fprintf(s.out, "created %s <%s> as %s (id %s)\n", u.Name, u.Email, u.Role, u.ID)
			return nil
		},
	}
	store.register(create.Flags())
	create.Flags().StringVar(&email, "email", "", "email address (required)")
	create.Flags().StringVar(&name, "name", "", "display name (required)")
	create.Flags().StringVar(&role, "role", "member", "role: admin, agent, expert or member")
	_ = create.MarkFlagRequired("email")
	_ = create.MarkFlagRequired("name")
	envUsage(create.Flags())

	var setStore storageFlags
	var setEmail, setRole string
	setRoleCmd := &cobra.Command{
		Use:     "set-role",
		Short:   "Change an account's role",
		Example: `  parley user set-role --email ana@example.com --role admin`,
		Args:    cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return bindEnv(cmd) },
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd.Context(), s, setStore)
			if err != nil {
				return err
			}
			defer a.Close()
			u, err := a.Auth.UserByEmail(cmd.Context(), setEmail)
			if err != nil {
				return cliError(err)
			}
			if u, err = a.Auth.SetRole(cmd.Context(), u.ID, auth.Role(setRole)); err != nil {
				return cliError(err)
			}
			fmt.Fprintf(s.out, "%s <%s> is now %s\n", u.Name, u.Email, u.Role)
			return nil
		},
	}
	setStore.register(setRoleCmd.Flags())
	setRoleCmd.Flags().StringVar(&setEmail, "email", "", "email address of the account (required)")
	setRoleCmd.Flags().StringVar(&setRole, "role", "", "new role: admin, agent, expert or member (required)")
	_ = setRoleCmd.MarkFlagRequired("email")
	_ = setRoleCmd.MarkFlagRequired("role")
	envUsage(setRoleCmd.Flags())

	cmd.AddCommand(create, setRoleCmd)
	return cmd
}

func newTokenCommand(s streams) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	var (
		store      storageFlags
		user, name string
		expiresIn  time.Duration
	)
	create := &cobra.Command{
		Use:     "create",
		Short:   "Create an API token for an account and print it once",
		Example: `  parley token create --user bot@example.com --name "lobby TV"`,
		Args:    cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return bindEnv(cmd) },
		RunE: func(cmd *cobra.Command, _ []string) error {
			if expiresIn < 0 {
				// A negative lifetime would otherwise fall through to "until revoked".
				return fmt.Errorf("--expires-in %s: must not be negative (0 means until revoked)", expiresIn)
			}
			a, err := openApp(cmd.Context(), s, store)
			if err != nil {
				return err
			}
			defer a.Close()
			u, err := a.Auth.UserByEmail(cmd.Context(), user)
			if err != nil {
				return cliError(err)
			}
			var expires *time.Time
			if expiresIn > 0 {
				t := time.Now().Add(expiresIn)
				expires = &t
			}
			_, secret, err := a.Auth.CreateToken(cmd.Context(), u.ID, name, expires)
			if err != nil {
				return cliError(err)
			}
			fmt.Fprintln(s.out, secret)
			fmt.Fprintln(s.err, "Keep this token safe: it is shown only once. Send it as 'Authorization: Bearer <token>'.")
			return nil
		},
	}
	store.register(create.Flags())
	create.Flags().StringVar(&user, "user", "", "email address of the token's owner (required)")
	create.Flags().StringVar(&name, "name", "cli", "what the token is for")
	create.Flags().DurationVar(&expiresIn, "expires-in", 0, "lifetime, e.g. 720h; 0 means until revoked")
	_ = create.MarkFlagRequired("user")
	envUsage(create.Flags())
	cmd.AddCommand(create)
	return cmd
}

func newBotCommand(s streams) *cobra.Command {
	cmd := &cobra.Command{Use: "bot", Short: "Manage bot accounts (programs and devices that sign in by token)"}
	var (
		store storageFlags
		name  string
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a bot account and print its API token once",
		Long: `Create an account for a program or a device — a bot, a lobby TV, a kiosk.
It has role member and no password: it uses only the printed API token.`,
		Example: `  parley bot create --name "Lobby TV"`,
		Args:    cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return bindEnv(cmd) },
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd.Context(), s, store)
			if err != nil {
				return err
			}
			defer a.Close()
			u, secret, err := a.Auth.CreateBot(cmd.Context(), name)
			if err != nil {
				return cliError(err)
			}
			fmt.Fprintln(s.out, secret)
			fmt.Fprintf(s.err, "Created bot %s (id %s). Keep the token safe: it is shown only once.\n", u.Name, u.ID)
			return nil
		},
	}
	store.register(create.Flags())
	create.Flags().StringVar(&name, "name", "", "the bot's display name (required)")
	_ = create.MarkFlagRequired("name")
	envUsage(create.Flags())
	cmd.AddCommand(create)
	return cmd
}

// demoPassword is documented in the README: the demo data set is for
// trying Parley on a laptop, never for a public server.
const demoPassword = "parley-demo-password"

func newDemoCommand(s streams) *cobra.Command {
	var store storageFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Create demo accounts for every role (for trying Parley locally)",
		Long: `Create one demo account per role so that every flow can be tried at once.
Accounts that already exist are left alone. The password of all of them is
printed once; never run this on a server reachable by others.`,
		Args:    cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error { return bindEnv(cmd) },
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openApp(cmd.Context(), s, store)
			if err != nil {
				return err
			}
			defer a.Close()
			people := []struct {
				email, name string
				role        auth.Role
			}{
				{"admin@demo.parley.example", "Ada Operator", auth.RoleAdmin},
				{"agent@demo.parley.example", "Sam Agent", auth.RoleAgent},
				{"expert@demo.parley.example", "Elena Expert", auth.RoleExpert},
				{"member@demo.parley.example", "Min-jun Member", auth.RoleMember},
			}
			tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ROLE\tEMAIL\tNAME\t")
			for _, p := range people {
				_, err := a.Auth.CreateUser(cmd.Context(), p.email, p.name, demoPassword, p.role)
				if err != nil && !errors.Is(err, auth.ErrEmailTaken) {
					return cliError(err)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t\n", p.role, p.email, p.name)
			}
			tw.Flush()
			if err := demoData(cmd.Context(), a); err != nil {
				return cliError(err)
			}
			fmt.Fprintf(s.out, "\nPassword for every demo account: %s\n", demoPassword)
			fmt.Fprintln(s.out, "Help desk: queue \"help\" (open around the clock), Sam Agent its agent and manager; the kiosk is /kiosk/Demo?queue=help")
			fmt.Fprintln(s.out, "Marketplace: Elena Expert approved, with an approved per-minute listing she can start now; Min-jun Member's wallet holds 50.00 USD")
			return nil
		},
	}
	store.register(cmd.Flags())
	envUsage(cmd.Flags())
	return cmd
}

// demoData gives the demo accounts something to try: a help-desk queue
// open around the clock with the agent in it, and an approved expert with a
// listing one can start now, and money in the member's wallet. Running it
// again changes nothing.
func demoData(ctx context.Context, a *app.App) error {
	byEmail := func(email string) (auth.User, error) { return a.Auth.UserByEmail(ctx, email) }
	admin, err := byEmail("admin@demo.parley.example")
	if err != nil {
		return err
	}
	agent, err := byEmail("agent@demo.parley.example")
	if err != nil {
		return err
	}
	expert, err := byEmail("expert@demo.parley.example")
	if err != nil {
		return err
	}
	member, err := byEmail("member@demo.parley.example")
	if err != nil {
		return err
	}
	week := desk.Week{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		week[d] = []desk.Interval{{Open: "00:00", Close: "24:00"}}
	}
	if _, err := a.Desk.Queue(ctx, "help"); errors.Is(err, desk.ErrNotFound) {
		if _, err := a.Desk.CreateQueue(ctx, desk.QueueInput{Key: "help", Name: "Help", Channels: []string{"video", "voice", "chat"},
			Hours: &desk.Schedule{TimeZone: "UTC", Weekly: week}, Origins: []string{"http://localhost:8080"}}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if _, err := a.Desk.SetAgent(ctx, agent.ID, desk.AgentInput{Queues: []string{"help"}, Manager: true}); err != nil {
		return err
	}
	if _, err := a.Market.Expert(ctx, expert.ID); errors.Is(err, market.ErrNotFound) {
		if _, err := a.Market.Apply(ctx, expert.ID, market.Application{Headline: "Guitar teacher", Bio: "Twenty years of teaching beginners.",
			Languages: []string{"en", "ko"}, Categories: []string{"art-music"}, TimeZone: "UTC"}); err != nil {
			return err
		}
		if _, err := a.Market.ReviewExpert(ctx, admin.ID, expert.ID, "approve", ""); err != nil {
			return err
		}
		l, err := a.Market.CreateListing(ctx, expert.ID, market.ListingInput{Title: "Guitar basics, live", Category: "art-music",
			Description: "Your first chords and strumming patterns, on video.", Languages: []string{"en", "ko"},
			PriceModel: market.PerMinute, Price: billing.Money{Amount: 150, Currency: "USD"}, StartNow: true})
		if err != nil {
			return err
		}
		if _, err := a.Market.ReviewListing(ctx, admin.ID, l.ID, "approve", ""); err != nil {
			return err
		}
		if _, err := a.Market.SetAvailability(ctx, expert.ID, market.Availability{Hours: desk.Schedule{TimeZone: "UTC", Weekly: week},
			AvailableNow: true}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	held, err := a.Billing.Ledger.Balance(ctx, a.DB, billing.Account{Kind: billing.Wallet, OwnerID: member.ID}, "USD")
	if err != nil || held > 0 {
		return err
	}
	return a.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := a.Billing.TopUp(ctx, tx, member.ID, billing.Money{Amount: 5000, Currency: "USD"}, "demo")
		return err
	})
}

// readPassword reads one line from standard input, without echo when it is
// a terminal.
func readPassword(s streams) (string, error) {
	if f, ok := s.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(s.err, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(s.err)
		return string(b), err
	}
	line, err := bufio.NewReader(s.in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}

// cliError words the service's errors for a person at a terminal.
func cliError(err error) error {
	var problem *httpx.Problem
	switch {
	case errors.As(err, &problem) && len(problem.Errors) > 0:
		parts := make([]string, len(problem.Errors))
		for i, f := range problem.Errors {
			parts[i] = f.Field + ": " + f.Detail
		}
		return errors.New(strings.Join(parts, "; "))
	case errors.Is(err, auth.ErrNotFound):
		return errors.New("no such account")
	case errors.Is(err, auth.ErrEmailTaken):
		return errors.New("an account with this email already exists")
	case errors.Is(err, auth.ErrLastAdmin):
		return errors.New("this is the last admin; make someone else admin first")
	}
	return err
}
