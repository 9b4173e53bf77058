from selftaught.launcher import main

main()
