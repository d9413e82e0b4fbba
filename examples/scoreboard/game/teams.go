package game

// teams are the clubs the simulated feed draws games from. They are
// invented, and so are their colours.
var teams = []Team{
	{Name: "Northbridge", Short: "NBR", Color: "#e63946"},
	{Name: "Eastport Rovers", Short: "EPR", Color: "#1d70b8"},
	{Name: "Kelham Athletic", Short: "KEL", Color: "#2a9d8f"},
	{Name: "Ravensmoor", Short: "RAV", Color: "#6a4c93"},
	{Name: "Port Ellis", Short: "PEL", Color: "#f4a261"},
	{Name: "Harrow Vale", Short: "HAV", Color: "#264653"},
	{Name: "Ashby Town", Short: "ASH", Color: "#d62828"},
	{Name: "Millbrook United", Short: "MIL", Color: "#0077b6"},
	{Name: "Castleford Wanderers", Short: "CAS", Color: "#588157"},
	{Name: "Greyhaven", Short: "GRY", Color: "#6c757d"},
	{Name: "Sunderby", Short: "SUN", Color: "#ffb703"},
	{Name: "Old Quay", Short: "OLQ", Color: "#8d5524"},
	{Name: "Westerly", Short: "WES", Color: "#3a86ff"},
	{Name: "Brackenfield", Short: "BRK", Color: "#ff006e"},
	{Name: "Lowther City", Short: "LOW", Color: "#118ab2"},
	{Name: "Stonebridge", Short: "STB", Color: "#9b2226"},
}

// surnames are the players' names; each squad draws eleven.
var surnames = []string{
	"Abara", "Berg", "Castillo", "Doyle", "Eriksen", "Faye", "Garrido", "Holm",
	"Ibe", "Jansen", "Kowal", "Laurent", "Mendes", "Novak", "Okafor", "Petit",
	"Quinn", "Rossi", "Sato", "Traore", "Ueda", "Varga", "Weller", "Xavier",
	"Yilmaz", "Zeller", "Achebe", "Brandt", "Costa", "Duarte",
}
