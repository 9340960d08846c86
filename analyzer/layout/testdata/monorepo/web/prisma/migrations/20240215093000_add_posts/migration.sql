-- CreateTable
CREATE TABLE "Post" ("id" SERIAL NOT NULL);
