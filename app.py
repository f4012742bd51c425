from trainingmgr import create_app

app = create_app()
