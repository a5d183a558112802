module github.com/hotfix-project/hotfix

go 1.26

require github.com/spf13/cobra v1.10.2

require (
	github.com/ProtonMail/go-crypto v1.5.2 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/pelletier/go-toml/v2 v2.4.3 // indirect
	github.com/robfig/cron/v3 v3.0.1 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	github.com/ulikunitz/xz v0.5.17 // indirect
)
